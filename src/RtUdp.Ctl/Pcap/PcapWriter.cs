using System.Buffers.Binary;
using System.Net;
using RtUdp.Wire;

namespace RtUdp.Ctl.Pcap;

/// <summary>
/// A classic libpcap file with nanosecond timestamps (magic 0xa1b23c4d) and link type LINKTYPE_RAW (101):
/// each record is an IPv4 or IPv6 header and a UDP header synthesized from the packet's source and the
/// channel's bound address, then the payload. tshark, Wireshark and tcpdump read it.
/// </summary>
internal sealed class PcapWriter : IDisposable
{
    public const uint NanosecondMagic = 0xa1b23c4d;
    public const uint LinkTypeRaw = 101;
    private const int RecordHeader = 16;
    private const int SnapLength = UdpFrame.MaxFrame;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[RecordHeader + SnapLength];

    public PcapWriter(Stream stream)
    {
        _stream = stream;
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, NanosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0); // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], LinkTypeRaw);
        _stream.Write(header);
    }

    public long Records { get; private set; }

    /// <summary>One datagram from <paramref name="source"/> to <paramref name="destination"/> seen at <paramref name="unixTimeNs"/> (ns since 1970, UTC).</summary>
    /// <remarks>A v4 source on a v6 (dual-stack) socket shows as IPv6 on both ends (see <see cref="UdpFrame.Build"/>).</remarks>
    public void Write(long unixTimeNs, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        Span<byte> record = _buffer;
        int length = UdpFrame.Build(record[RecordHeader..], source, destination, payload);
        long seconds = Math.DivRem(Math.Max(0, unixTimeNs), 1_000_000_000, out long nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)length);
        _stream.Write(record[..(RecordHeader + length)]);
        Records++;
    }

    public void Dispose() => _stream.Dispose();
}
