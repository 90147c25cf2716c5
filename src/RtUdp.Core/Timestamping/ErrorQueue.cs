using System.Runtime.CompilerServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// Parses the control messages of one <c>recvmsg(MSG_ERRQUEUE)</c> result: the
/// <c>SOL_IP/IP_RECVERR</c> or <c>SOL_IPV6/IPV6_RECVERR</c> message carrying a
/// <c>sock_extended_err</c>, and the <c>SOL_SOCKET/SCM_TIMESTAMPING</c> message carrying
/// <c>struct scm_timestamping { struct timespec ts[3]; }</c>, in either order. The cmsg headers are
/// walked here with the 64-bit layout (16-byte <c>cmsghdr</c>, 8-byte CMSG_ALIGN) and every length is
/// bounds-checked, so garbage yields false instead of an out-of-range read. Allocates nothing.
/// </summary>
public static unsafe class ErrorQueue
{
    /// <summary>sizeof(struct cmsghdr) on 64-bit Linux, already a multiple of the alignment.</summary>
    public const int CmsgHeaderSize = 16;

    /// <summary>sizeof(struct sock_extended_err).</summary>
    public const int SockExtendedErrSize = 16;

    /// <summary>sizeof(struct scm_timestamping): three 16-byte timespecs.</summary>
    public const int ScmTimestampingSize = 48;

    private const int CmsgAlignment = 8;
    private const long NanosPerSecond = 1_000_000_000L;

    /// <summary>CMSG_ALIGN for 64-bit Linux: rounds up to a multiple of sizeof(size_t).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long CmsgAlign(long length) => (length + CmsgAlignment - 1) & ~(long)(CmsgAlignment - 1);

    /// <summary>Parses the control buffer a recvmsg/recvmmsg with MSG_ERRQUEUE filled in.</summary>
    /// <returns>True when a well-formed <c>sock_extended_err</c> was found; false for no error-queue
    /// message or malformed control data (never throws).</returns>
    public static bool TryParse(msghdr* message, out ErrQueueMessage result)
    {
        if (message == null || message->msg_control == null)
        {
            result = default;
            return false;
        }

        ulong length = message->msg_controllen;
        bool parsed = TryParse((byte*)message->msg_control, length > int.MaxValue ? int.MaxValue : (int)length, out result);
        if ((message->msg_flags & LibC.MSG_CTRUNC) != 0)
        {
            result.ControlTruncated = true;
        }

        return parsed;
    }

    /// <inheritdoc cref="TryParse(msghdr*, out ErrQueueMessage)"/>
    public static bool TryParse(ReadOnlySpan<byte> control, out ErrQueueMessage result)
    {
        fixed (byte* p = control)
        {
            return TryParse(p, control.Length, out result);
        }
    }

    /// <inheritdoc cref="TryParse(msghdr*, out ErrQueueMessage)"/>
    public static bool TryParse(byte* control, int length, out ErrQueueMessage result)
    {
        result = default;
        if (Walk(control, length, ref result))
        {
            return true;
        }

        // Never hand back half-filled fields on failure.
        result = default;
        return false;
    }

    private static bool Walk(byte* control, int length, ref ErrQueueMessage result)
    {
        if (control == null || length <= 0)
        {
            return false;
        }

        bool haveError = false;
        long offset = 0;
        while (offset + CmsgHeaderSize <= length)
        {
            byte* header = control + offset;
            ulong cmsgLen = Unsafe.ReadUnaligned<ulong>(header);
            int level = Unsafe.ReadUnaligned<int>(header + 8);
            int type = Unsafe.ReadUnaligned<int>(header + 12);
            if (cmsgLen < CmsgHeaderSize || cmsgLen > (ulong)(length - offset))
            {
                // A header that lies about its length: the kernel never writes one, so the buffer is
                // not what we think it is. Reject it all rather than trust any part of it.
                return false;
            }

            long dataLength = (long)cmsgLen - CmsgHeaderSize;
            byte* data = header + CmsgHeaderSize;
            if (IsRecvErr(level, type))
            {
                if (dataLength < SockExtendedErrSize)
                {
                    return false;
                }

                ReadExtendedErr(data, ref result);
                ReadOffender(data + SockExtendedErrSize, dataLength - SockExtendedErrSize, ref result);
                haveError = true;
            }
            else if (level == LibC.SOL_SOCKET && (type == LibC.SCM_TIMESTAMPING || type == Libc.SO_TIMESTAMPING_NEW))
            {
                if (dataLength < ScmTimestampingSize)
                {
                    return false;
                }

                result.SoftwareNs = ReadTimespec(data);
                result.HardwareNs = ReadTimespec(data + 32);
            }

            offset += CmsgAlign((long)cmsgLen);
        }

        return haveError;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsRecvErr(int level, int type) =>
        (level == LibC.SOL_IP && type == LibC.IP_RECVERR) || (level == LibC.SOL_IPV6 && type == LibC.IPV6_RECVERR);

    private static void ReadExtendedErr(byte* data, ref ErrQueueMessage result)
    {
        sock_extended_err ee = Unsafe.ReadUnaligned<sock_extended_err>(data);
        result.Errno = (int)ee.ee_errno;
        result.Origin = ee.ee_origin;
        result.Type = ee.ee_type;
        result.Code = ee.ee_code;
        result.Info = ee.ee_info;
        result.Data = ee.ee_data;
        result.Kind = KindOf(ee.ee_origin);
    }

    /// <summary>SO_EE_OFFENDER: the sockaddr right after the sock_extended_err, when it is all there.</summary>
    private static void ReadOffender(byte* address, long length, ref ErrQueueMessage result)
    {
        if (length < 2)
        {
            return;
        }
        ushort family = Unsafe.ReadUnaligned<ushort>(address);
        if ((family == LibC.AF_INET && length >= 16) || (family == LibC.AF_INET6 && length >= 28))
        {
            Contract.Channels.EndpointBlock offender = default;
            Engine.SocketAddress.Read(address, ref offender);
            result.Offender = offender;
        }
    }

    /// <summary>Maps SO_EE_ORIGIN_* to <see cref="ErrQueueKind"/>.</summary>
    public static ErrQueueKind KindOf(byte origin)
    {
        if (origin == LibC.SO_EE_ORIGIN_TIMESTAMPING)
        {
            return ErrQueueKind.TxTimestamp;
        }

        if (origin == Libc.SO_EE_ORIGIN_TXTIME)
        {
            return ErrQueueKind.TxTimeError;
        }

        if (origin == LibC.SO_EE_ORIGIN_ICMP)
        {
            return ErrQueueKind.Icmp;
        }

        if (origin == LibC.SO_EE_ORIGIN_ICMP6)
        {
            return ErrQueueKind.Icmp6;
        }

        return origin == LibC.SO_EE_ORIGIN_LOCAL ? ErrQueueKind.Local : ErrQueueKind.Unknown;
    }

    // struct timespec on 64-bit: { long tv_sec; long tv_nsec; }. An all-zero slot means "not generated".
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ReadTimespec(byte* p) =>
        (Unsafe.ReadUnaligned<long>(p) * NanosPerSecond) + Unsafe.ReadUnaligned<long>(p + 8);
}
