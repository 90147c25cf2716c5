using System.Runtime.CompilerServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// Writes the per-packet <c>SOL_SOCKET/SCM_TXTIME</c> control message: a <c>cmsghdr</c> followed by
/// the u64 launch time in the clock given to <see cref="SockTxtime.Enable"/>. Point
/// <c>msg_control</c> at the buffer and set <c>msg_controllen = Space</c>. Allocates nothing.
/// </summary>
public static unsafe class TxTimeControl
{
    /// <summary>CMSG_LEN(sizeof(u64)) on 64-bit Linux: the value of <c>cmsg_len</c>.</summary>
    public const int Length = ErrorQueue.CmsgHeaderSize + sizeof(ulong);

    /// <summary>CMSG_SPACE(sizeof(u64)) on 64-bit Linux: the bytes the message occupies.</summary>
    public const int Space = ErrorQueue.CmsgHeaderSize + sizeof(ulong);

    /// <summary>Writes the message at <paramref name="buffer"/>, which must hold <see cref="Space"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(byte* buffer, ulong txtimeNs)
    {
        Unsafe.WriteUnaligned(buffer, (ulong)Length);
        Unsafe.WriteUnaligned(buffer + 8, LibC.SOL_SOCKET);
        Unsafe.WriteUnaligned(buffer + 12, Libc.SCM_TXTIME);
        Unsafe.WriteUnaligned(buffer + ErrorQueue.CmsgHeaderSize, txtimeNs);
    }

    /// <summary>Span-checked twin of <see cref="Write(byte*, ulong)"/>.</summary>
    public static void Write(Span<byte> buffer, ulong txtimeNs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, Space);
        fixed (byte* p = buffer)
        {
            Write(p, txtimeNs);
        }
    }
}

/// <summary>SO_TXTIME: per-socket launch-time support.</summary>
public static unsafe class SockTxtime
{
    /// <summary>
    /// setsockopt(SOL_SOCKET, SO_TXTIME, {clockid, (deadline ? SOF_TXTIME_DEADLINE_MODE : 0) |
    /// SOF_TXTIME_REPORT_ERRORS}). Succeeds without an etf/fq qdisc, which then ignores the times.
    /// </summary>
    /// <exception cref="NativeCallException">setsockopt failed (e.g. EINVAL for an unsupported clock).</exception>
    public static void Enable(int fd, int clockid, bool deadlineMode)
    {
        Libc.sock_txtime value;
        value.clockid = clockid;
        value.flags = (uint)((deadlineMode ? Libc.SOF_TXTIME_DEADLINE_MODE : 0) | Libc.SOF_TXTIME_REPORT_ERRORS);
        Errno.Check(LibC.setsockopt(fd, LibC.SOL_SOCKET, Libc.SO_TXTIME, &value, (socklen_t)sizeof(Libc.sock_txtime)),
            "setsockopt(SO_TXTIME)");
    }
}
