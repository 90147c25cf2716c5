using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace RtUdp.Core.Net;

/// <summary>
/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of 16-bit big-endian
/// words. Sums are kept as partial values (a <see cref="ulong"/> that <see cref="Fold"/> reduces to 16 bits) so
/// constant parts (pseudo-header addresses, ports) are summed once and per-packet parts added later. Allocates
/// nothing, locks nothing.
/// </summary>
public static unsafe class InternetChecksum
{
    /// <summary>
    /// The one's complement sum of <paramref name="length"/> bytes as big-endian words (a trailing odd byte is the
    /// high byte of a word padded with zero), folded to 16 bits and not complemented: add it to other sums.
    /// </summary>
    public static uint Sum(byte* data, int length)
    {
        // The one's complement sum does not depend on byte order (RFC 1071 2.B): add native 32-bit words, fold,
        // and swap once at the end when the machine is little-endian.
        ulong sum = 0;
        int i = 0;
        for (; i + 16 <= length; i += 16)
        {
            sum += Unsafe.ReadUnaligned<uint>(data + i);
            sum += Unsafe.ReadUnaligned<uint>(data + i + 4);
            sum += Unsafe.ReadUnaligned<uint>(data + i + 8);
            sum += Unsafe.ReadUnaligned<uint>(data + i + 12);
        }

        for (; i + 4 <= length; i += 4)
        {
            sum += Unsafe.ReadUnaligned<uint>(data + i);
        }

        if (i + 2 <= length)
        {
            sum += Unsafe.ReadUnaligned<ushort>(data + i);
            i += 2;
        }

        if (i < length)
        {
            // Word position is even (i is a multiple of 2): the byte is the word's first (most significant on the wire).
            sum += BitConverter.IsLittleEndian ? data[i] : (uint)data[i] << 8;
        }

        ushort folded = Fold(sum);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <inheritdoc cref="Sum(byte*, int)"/>
    public static uint Sum(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            return Sum(p, data.Length);
        }
    }

    /// <summary>Reduces a sum of 16-bit words (or of folded partial sums) to 16 bits with end-around carry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum to put in a header: the complement of the folded sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>The checksum of <paramref name="data"/> alone (RFC 1071's example gives 0x220d for 00 01 f2 03 f4 f5 f6 f7).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>
    /// The constant part of the UDP pseudo-header sum: source and destination addresses (4 or 16 bytes each,
    /// network order) and the protocol (17). The per-packet UDP length is added separately.
    /// </summary>
    public static uint PseudoHeaderSum(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol) =>
        Fold((ulong)Sum(source) + Sum(destination) + protocol);

    /// <summary>
    /// The full UDP checksum of <paramref name="udp"/> (header with a zero checksum field, then payload) between the
    /// two addresses: 0 becomes 0xFFFF (RFC 768: 0 means "no checksum"). Reference path for tests and control code.
    /// </summary>
    public static ushort Udp(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> udp)
    {
        ushort checksum = Finish((ulong)PseudoHeaderSum(source, destination, 17) + (uint)udp.Length + Sum(udp));
        return checksum == 0 ? (ushort)0xFFFF : checksum;
    }
}
