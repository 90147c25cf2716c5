using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace RtUdp.Core.Native;

/// <summary>errno values (Linux generic numbering, x86_64 and arm64) and failure-to-exception helpers.</summary>
public static unsafe class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOSPC = 28;
    public const int EPIPE = 32;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int ENOMSG = 42;
    public const int ENONET = 64;
    public const int EPROTO = 71;
    public const int ENOTSOCK = 88;
    public const int EMSGSIZE = 90;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ENOBUFS = 105;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTDOWN = 112;
    public const int EHOSTUNREACH = 113;
    public const int ECANCELED = 125;

    /// <summary>Symbolic name, e.g. "EPERM"; "errno N" for values not listed here.</summary>
    public static string Name(int errno) => errno switch
    {
        EPERM => nameof(EPERM),
        ENOENT => nameof(ENOENT),
        ESRCH => nameof(ESRCH),
        EINTR => nameof(EINTR),
        EIO => nameof(EIO),
        ENXIO => nameof(ENXIO),
        EBADF => nameof(EBADF),
        EAGAIN => nameof(EAGAIN),
        ENOMEM => nameof(ENOMEM),
        EACCES => nameof(EACCES),
        EFAULT => nameof(EFAULT),
        EBUSY => nameof(EBUSY),
        EEXIST => nameof(EEXIST),
        ENODEV => nameof(ENODEV),
        EINVAL => nameof(EINVAL),
        ENFILE => nameof(ENFILE),
        EMFILE => nameof(EMFILE),
        ENOSPC => nameof(ENOSPC),
        EPIPE => nameof(EPIPE),
        ERANGE => nameof(ERANGE),
        ENOSYS => nameof(ENOSYS),
        ENOMSG => nameof(ENOMSG),
        ENONET => nameof(ENONET),
        EPROTO => nameof(EPROTO),
        ENOTSOCK => nameof(ENOTSOCK),
        EMSGSIZE => nameof(EMSGSIZE),
        ENOPROTOOPT => nameof(ENOPROTOOPT),
        EPROTONOSUPPORT => nameof(EPROTONOSUPPORT),
        EOPNOTSUPP => nameof(EOPNOTSUPP),
        EAFNOSUPPORT => nameof(EAFNOSUPPORT),
        EADDRINUSE => nameof(EADDRINUSE),
        EADDRNOTAVAIL => nameof(EADDRNOTAVAIL),
        ENETDOWN => nameof(ENETDOWN),
        ENETUNREACH => nameof(ENETUNREACH),
        ECONNABORTED => nameof(ECONNABORTED),
        ENOBUFS => nameof(ENOBUFS),
        ETIMEDOUT => nameof(ETIMEDOUT),
        ECONNREFUSED => nameof(ECONNREFUSED),
        EHOSTDOWN => nameof(EHOSTDOWN),
        EHOSTUNREACH => nameof(EHOSTUNREACH),
        ECANCELED => nameof(ECANCELED),
        _ => $"errno {errno}",
    };

    /// <summary>"EPERM (Operation not permitted)".</summary>
    public static string Describe(int errno) => $"{Name(errno)} ({StrError(errno)})";

    /// <summary>
    /// Returns <paramref name="result"/> unless it is -1, in which case throws with the errno
    /// saved by the marshalling stub. Valid after any binding declared with SetLastError = true
    /// (ours and Tmds.LibC's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Check(int result, string call)
    {
        if (result == -1)
        {
            ThrowForLastError(call);
        }

        return result;
    }

    /// <inheritdoc cref="Check(int, string)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Check(long result, string call)
    {
        if (result == -1)
        {
            ThrowForLastError(call);
        }

        return result;
    }

    [DoesNotReturn]
    [StackTraceHidden]
    public static void ThrowFor(int errno, string call) => throw new NativeCallException(call, errno);

    // Marshal.GetLastPInvokeError, not GetLastSystemError: the latter reads the live errno, which
    // anything running between the P/Invoke and this point (JIT-compiling the caller, a GC
    // suspension) may overwrite. The SetLastError stub snapshots errno before returning.
    [DoesNotReturn]
    [StackTraceHidden]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowForLastError(string call) => ThrowFor(Marshal.GetLastPInvokeError(), call);

    private static string StrError(int errno)
    {
        // Tmds.LibC binds the XSI variant (__xpg_strerror_r), which always fills the caller's buffer;
        // a stack buffer means nothing native is allocated and nothing can leak.
        const int Capacity = 256;
        byte* buffer = stackalloc byte[Capacity];
        if (LibC.strerror_r(errno, buffer, Capacity) != 0)
        {
            return "Unknown error " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var text = new ReadOnlySpan<byte>(buffer, Capacity);
        int length = text.IndexOf((byte)0);
        return Encoding.UTF8.GetString(length < 0 ? text : text[..length]);
    }
}
