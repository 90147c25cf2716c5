using System.Buffers.Binary;

namespace RtUdp.Daemon.Generators;

/// <summary>A synthetic packet's bytes: the pattern repeated to the size, with the packet's index in front when asked.</summary>
internal sealed class PayloadTemplate
{
    private readonly byte[] _bytes;
    private readonly bool _indexPrefix;

    public PayloadTemplate(int size, ReadOnlySpan<byte> pattern, bool indexPrefix)
    {
        _bytes = new byte[size];
        if (!pattern.IsEmpty)
        {
            for (int at = 0; at < size; at += pattern.Length)
            {
                pattern[..Math.Min(pattern.Length, size - at)].CopyTo(_bytes.AsSpan(at));
            }
        }
        _indexPrefix = indexPrefix;
    }

    public int Size => _bytes.Length;

    /// <summary>The bytes of packet <paramref name="index"/> (the same buffer each time: the generator's thread only).</summary>
    public ReadOnlySpan<byte> For(long index)
    {
        if (_indexPrefix)
        {
            BinaryPrimitives.WriteInt64BigEndian(_bytes, index);
        }
        return _bytes;
    }
}
