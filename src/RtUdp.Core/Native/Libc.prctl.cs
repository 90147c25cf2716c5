using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;sys/prctl.h&gt;.</summary>
public static unsafe partial class Libc
{
    public const int PR_SET_PDEATHSIG = 1;
    public const int PR_SET_NAME = 15;
    public const int PR_SET_TIMERSLACK = 29;
    public const int PR_GET_TIMERSLACK = 30;
    public const int PR_CAP_AMBIENT = 47;
    public const int PR_CAP_AMBIENT_IS_SET = 1;
    public const int PR_CAP_AMBIENT_CLEAR_ALL = 4;

    /// <remarks>
    /// prctl is variadic in C; a fixed five-argument binding is ABI-identical for integer
    /// arguments on x86_64/arm64 and is what the kernel reads anyway.
    /// </remarks>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);
}
