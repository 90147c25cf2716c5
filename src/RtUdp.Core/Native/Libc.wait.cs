using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;sys/wait.h&gt;.</summary>
public static unsafe partial class Libc
{
    public const int WNOHANG = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, int* wstatus, int options);
}
