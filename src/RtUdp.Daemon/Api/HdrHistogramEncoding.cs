using System.Buffers.Binary;
using System.IO.Compression;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Daemon.Api;

/// <summary>
/// HdrHistogram's V2 serialisation of a <see cref="HistogramSnapshot"/>, whose counts array already has
/// HdrHistogram's layout for (lowest 1, highest 10^10, 2 significant digits), so no re-bucketing.
/// </summary>
/// <remarks>
/// Uncompressed V2 (AbstractHistogram.encodeIntoByteBuffer), big-endian: int32 cookie 0x1c849313
/// (V2 base 0x1c849303 | 0x10), int32 payload length, int32 normalizing index offset (0), int32
/// significant digits, int64 lowest discernible value, int64 highest trackable value, float64
/// integer-to-double conversion ratio (1.0); then the counts up to the last non-zero one as ZigZag
/// LEB128 (at most 9 bytes, the 9th taking 8 bits), a run of N > 1 zeros written as -N.
/// Compressed V2 (encodeIntoCompressedByteBuffer): int32 cookie 0x1c849314, int32 length, then the
/// uncompressed encoding deflated in zlib format. Histogram logs carry the compressed form in base64.
/// </remarks>
public static class HdrHistogramEncoding
{
    public const int V2EncodingCookie = 0x1c849303 | 0x10;
    public const int V2CompressedEncodingCookie = 0x1c849304 | 0x10;
    public const long LowestDiscernibleValue = 1;
    public const long HighestTrackableValue = 10_000_000_000;
    public const int SignificantValueDigits = 2;
    private const int HeaderSize = 40;

    public static byte[] EncodeV2(HistogramSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ReadOnlySpan<long> counts = snapshot.Counts;
        int limit = counts.LastIndexOfAnyExcept(0L) + 1;
        using var payload = new MemoryStream();
        Span<byte> scratch = stackalloc byte[9];
        for (int i = 0; i < limit;)
        {
            long count = counts[i++];
            if (count == 0)
            {
                long zeros = 1;
                while (i < limit && counts[i] == 0)
                {
                    zeros++;
                    i++;
                }
                count = zeros > 1 ? -zeros : 0;
            }
            payload.Write(scratch[..ZigZag(count, scratch)]);
        }

        byte[] result = new byte[HeaderSize + payload.Length];
        Span<byte> h = result;
        BinaryPrimitives.WriteInt32BigEndian(h, V2EncodingCookie);
        BinaryPrimitives.WriteInt32BigEndian(h[4..], (int)payload.Length);
        BinaryPrimitives.WriteInt32BigEndian(h[8..], 0);
        BinaryPrimitives.WriteInt32BigEndian(h[12..], SignificantValueDigits);
        BinaryPrimitives.WriteInt64BigEndian(h[16..], LowestDiscernibleValue);
        BinaryPrimitives.WriteInt64BigEndian(h[24..], HighestTrackableValue);
        BinaryPrimitives.WriteDoubleBigEndian(h[32..], 1.0);
        payload.GetBuffer().AsSpan(0, (int)payload.Length).CopyTo(h[HeaderSize..]);
        return result;
    }

    public static byte[] EncodeV2Compressed(HistogramSnapshot snapshot)
    {
        byte[] plain = EncodeV2(snapshot);
        using var output = new MemoryStream();
        output.Write(new byte[8]);
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(plain);
        }
        byte[] result = output.ToArray();
        BinaryPrimitives.WriteInt32BigEndian(result, V2CompressedEncodingCookie);
        BinaryPrimitives.WriteInt32BigEndian(result.AsSpan(4), result.Length - 8);
        return result;
    }

    /// <summary>Decodes an uncompressed or compressed V2 encoding into its counts array (for tests and clients in .NET).</summary>
    public static long[] DecodeCounts(ReadOnlySpan<byte> encoded)
    {
        int cookie = BinaryPrimitives.ReadInt32BigEndian(encoded);
        if (cookie == V2CompressedEncodingCookie)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(encoded[4..]);
            using var zlib = new ZLibStream(new MemoryStream(encoded.Slice(8, length).ToArray()), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            zlib.CopyTo(plain);
            return DecodeCounts(plain.ToArray());
        }
        if (cookie != V2EncodingCookie)
        {
            throw new FormatException($"Not an HdrHistogram V2 encoding (cookie 0x{cookie:x8}).");
        }
        int payloadLength = BinaryPrimitives.ReadInt32BigEndian(encoded[4..]);
        ReadOnlySpan<byte> payload = encoded.Slice(HeaderSize, payloadLength);
        var counts = new List<long>();
        int position = 0;
        while (position < payload.Length)
        {
            long value = UnZigZag(payload, ref position);
            if (value < 0)
            {
                for (long z = 0; z < -value; z++)
                {
                    counts.Add(0);
                }
            }
            else
            {
                counts.Add(value);
            }
        }
        return [.. counts];
    }

    private static int ZigZag(long value, Span<byte> destination)
    {
        ulong v = (ulong)((value << 1) ^ (value >> 63));
        for (int i = 0; i < 8; i++)
        {
            if (v >> 7 == 0)
            {
                destination[i] = (byte)v;
                return i + 1;
            }
            destination[i] = (byte)((v & 0x7F) | 0x80);
            v >>= 7;
        }
        destination[8] = (byte)v;
        return 9;
    }

    private static long UnZigZag(ReadOnlySpan<byte> source, ref int position)
    {
        ulong v = 0;
        for (int i = 0; i < 8; i++)
        {
            byte b = source[position++];
            v |= (ulong)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                return (long)(v >> 1) ^ -(long)(v & 1);
            }
        }
        v |= (ulong)source[position++] << 56;
        return (long)(v >> 1) ^ -(long)(v & 1);
    }
}
