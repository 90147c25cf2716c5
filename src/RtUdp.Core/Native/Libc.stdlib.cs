using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;stdlib.h&gt;, &lt;stdio.h&gt;: the native environment and printf formatting for native log callbacks.</summary>
public static unsafe partial class Libc
{
    /// <summary>
    /// Sets a variable in the C library's environment, which native libraries read with getenv (libxdp's
    /// LIBXDP_BPFFS). .NET's Environment.SetEnvironmentVariable does not reach it on Linux.
    /// </summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int setenv(byte* name, byte* value, int overwrite);

    [LibraryImport("libc", SetLastError = true)]
    public static partial byte* getenv(byte* name);

    /// <summary>Formats a printf format and its va_list (as a native log callback receives them; passed on as the pointer it is on x86_64 and arm64).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int vsnprintf(byte* str, nuint size, byte* format, nint ap);
}
