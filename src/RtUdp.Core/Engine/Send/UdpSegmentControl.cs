using System.Runtime.CompilerServices;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// The UDP_SEGMENT control message (SOL_UDP, u16 gso_size) that makes one sendmsg datagram a GSO train: the
/// kernel cuts its payload into datagrams of that size, the last one shorter if the payload runs out.
/// </summary>
public static unsafe class UdpSegmentControl
{
    /// <summary>CMSG_LEN(sizeof(u16)) on 64-bit Linux: the value of <c>cmsg_len</c>.</summary>
    public const int Length = ErrorQueue.CmsgHeaderSize + sizeof(ushort);

    /// <summary>CMSG_SPACE(sizeof(u16)) on 64-bit Linux: the bytes the message occupies (its data padded to 8).</summary>
    public const int Space = ErrorQueue.CmsgHeaderSize + sizeof(ulong);

    /// <summary>Writes the message at <paramref name="buffer"/>, which must hold <see cref="Space"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(byte* buffer, ushort segmentSize)
    {
        Unsafe.WriteUnaligned(buffer, (ulong)Length);
        Unsafe.WriteUnaligned(buffer + 8, Libc.SOL_UDP);
        Unsafe.WriteUnaligned(buffer + 12, Libc.UDP_SEGMENT);
        // The u16 and its padding in one little-endian store: the padding is zeroed as CMSG_SPACE leaves it.
        Unsafe.WriteUnaligned(buffer + ErrorQueue.CmsgHeaderSize, (ulong)segmentSize);
    }
}
