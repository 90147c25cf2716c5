using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;unistd.h&gt;: thread id, file ownership and the raw syscall entry.</summary>
public static unsafe partial class Libc
{
    /// <summary>chown(2); -1 (as uint) leaves an id unchanged.</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int gettid();

    /// <summary>execve(2): returns only on failure. <paramref name="argv"/> and <paramref name="envp"/> end with a null pointer.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int execve(byte* pathname, byte** argv, byte** envp);

    /// <summary>
    /// Fixed-arity binding of the variadic <c>syscall(2)</c>. On x86_64 and arm64 (Linux AAPCS64)
    /// integer varargs travel in the same registers as named arguments, so unused trailing
    /// arguments are simply ignored by the kernel. Do not pass floating-point values.
    /// </summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial nint syscall(nint n, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);
}
