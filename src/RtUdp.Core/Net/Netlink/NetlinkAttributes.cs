using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Net.Netlink;

/// <summary>One attribute (rtattr / nlattr, same layout): type without NLA_F_* bits, value offset and length within the span read.</summary>
public readonly record struct NetlinkAttribute(ushort Type, int Start, int Length)
{
    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> span) => span.Slice(Start, Length);

    public uint AsUInt32(ReadOnlySpan<byte> span) => MemoryMarshal.Read<uint>(Value(span));

    /// <summary>A u16/u32/u64 attribute of whichever width the kernel sent (netdev's "uint"s are 4 or 8 bytes).</summary>
    public ulong AsUnsigned(ReadOnlySpan<byte> span) => Length switch
    {
        1 => span[Start],
        2 => MemoryMarshal.Read<ushort>(Value(span)),
        4 => MemoryMarshal.Read<uint>(Value(span)),
        8 => MemoryMarshal.Read<ulong>(Value(span)),
        _ => throw new InvalidDataException($"netlink attribute {Type} of {Length} bytes is not an integer"),
    };

    public string AsString(ReadOnlySpan<byte> span)
    {
        ReadOnlySpan<byte> value = Value(span);
        int nul = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? value : value[..nul]);
    }
}

/// <summary>Walks the attributes of a span without allocating (<c>foreach</c>); a length pointing outside it throws.</summary>
public ref struct NetlinkAttributeReader(ReadOnlySpan<byte> span)
{
    private const ushort TypeMask = 0x3fff; // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER
    private readonly ReadOnlySpan<byte> _span = span;
    private int _offset;

    public NetlinkAttribute Current { get; private set; }

    public readonly NetlinkAttributeReader GetEnumerator() => this;

    /// <exception cref="InvalidDataException">An attribute's length points outside the span.</exception>
    public bool MoveNext()
    {
        int headerSize = Marshal.SizeOf<Libc.rtattr>();
        if (_span.Length - _offset < headerSize)
        {
            return false;
        }

        ushort length = MemoryMarshal.Read<ushort>(_span[_offset..]);
        ushort type = MemoryMarshal.Read<ushort>(_span[(_offset + 2)..]);
        if (length < headerSize || length > _span.Length - _offset)
        {
            throw new InvalidDataException($"netlink attribute at offset {_offset} claims {length} bytes; {_span.Length - _offset} remain");
        }

        Current = new NetlinkAttribute((ushort)(type & TypeMask), _offset + headerSize, length - headerSize);
        _offset += NetlinkSocket.Align(length);
        return true;
    }
}

/// <summary>Builds one netlink request in a growable buffer: header, fixed part, attributes. Control path.</summary>
public sealed class NetlinkRequestBuilder
{
    private readonly List<byte> _bytes = [];

    /// <summary>Starts a message of <paramref name="type"/> with <paramref name="flags"/> and <paramref name="sequence"/>; the length is set by <see cref="ToArray"/>.</summary>
    public NetlinkRequestBuilder(ushort type, ushort flags, uint sequence)
    {
        Libc.nlmsghdr header = default;
        header.nlmsg_type = type;
        header.nlmsg_flags = flags;
        header.nlmsg_seq = sequence;
        Append(header);
    }

    /// <summary>Appends a fixed-layout struct (rtmsg, ndmsg, genlmsghdr, ...), padded to 4 bytes.</summary>
    public NetlinkRequestBuilder Append<T>(T value)
        where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(new Span<T>(ref value));
        _bytes.AddRange(bytes);
        Pad();
        return this;
    }

    /// <summary>Appends an attribute whose value is <paramref name="value"/>.</summary>
    public NetlinkRequestBuilder Attribute(ushort type, ReadOnlySpan<byte> value)
    {
        Libc.rtattr header = default;
        header.rta_len = (ushort)(Marshal.SizeOf<Libc.rtattr>() + value.Length);
        header.rta_type = type;
        _bytes.AddRange(MemoryMarshal.AsBytes(new Span<Libc.rtattr>(ref header)));
        _bytes.AddRange(value);
        Pad();
        return this;
    }

    public NetlinkRequestBuilder Attribute(ushort type, uint value) =>
        Attribute(type, MemoryMarshal.AsBytes(new ReadOnlySpan<uint>(ref value)));

    /// <summary>A NUL-terminated string attribute.</summary>
    public NetlinkRequestBuilder Attribute(ushort type, string value)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return Attribute(type, bytes);
    }

    /// <summary>The message with nlmsg_len set.</summary>
    public byte[] ToArray()
    {
        byte[] message = [.. _bytes];
        MemoryMarshal.Write(message, (uint)message.Length); // host order, like all of netlink's header
        return message;
    }

    private void Pad()
    {
        while ((_bytes.Count & 3) != 0)
        {
            _bytes.Add(0);
        }
    }
}
