using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

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
    private const int SnapLength = 65535 + 48;

    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[16 + SnapLength];

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
    public void Write(long unixTimeNs, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        if (source.AddressFamily != destination.AddressFamily)
        {
            // A v4 source on a v6 (dual-stack) socket: show both as IPv6.
            source = new IPEndPoint(source.Address.MapToIPv6(), source.Port);
            destination = new IPEndPoint(destination.Address.MapToIPv6(), destination.Port);
        }
        Span<byte> record = _buffer;
        int ipLength = source.AddressFamily == AddressFamily.InterNetworkV6 ? 40 : 20;
        int udpLength = 8 + payload.Length;
        int length = ipLength + udpLength;
        Span<byte> packet = record.Slice(16, length);
        if (ipLength == 20)
        {
            Ipv4(packet, source.Address, destination.Address, udpLength);
        }
        else
        {
            Ipv6(packet, source.Address, destination.Address, udpLength);
        }
        Span<byte> udp = packet[ipLength..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)destination.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        payload.CopyTo(udp[8..]);
        ushort checksum = UdpChecksum(source.Address, destination.Address, udp[..udpLength]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], checksum);

        long seconds = Math.DivRem(Math.Max(0, unixTimeNs), 1_000_000_000, out long nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)nanoseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)length);
        _stream.Write(record[..(16 + length)]);
        Records++;
    }

    private static void Ipv4(Span<byte> ip, IPAddress source, IPAddress destination, int udpLength)
    {
        ip[..20].Clear();
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + udpLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // don't fragment
        ip[8] = 64;
        ip[9] = 17;
        source.TryWriteBytes(ip[12..16], out _);
        destination.TryWriteBytes(ip[16..20], out _);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip[..20], 0)));
    }

    private static void Ipv6(Span<byte> ip, IPAddress source, IPAddress destination, int udpLength)
    {
        ip[..40].Clear();
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)udpLength);
        ip[6] = 17;
        ip[7] = 64;
        source.TryWriteBytes(ip[8..24], out _);
        destination.TryWriteBytes(ip[24..40], out _);
    }

    /// <summary>RFC 768 checksum over the pseudo-header and the datagram (0 becomes 0xffff).</summary>
    private static ushort UdpChecksum(IPAddress source, IPAddress destination, ReadOnlySpan<byte> udp)
    {
        Span<byte> addresses = stackalloc byte[32];
        int size = source.AddressFamily == AddressFamily.InterNetworkV6 ? 16 : 4;
        source.TryWriteBytes(addresses[..size], out _);
        destination.TryWriteBytes(addresses.Slice(size, size), out _);
        ulong sum = Sum(addresses[..(2 * size)], 0) + 17 + (ulong)udp.Length;
        ushort checksum = Fold(Sum(udp, sum));
        return checksum == 0 ? (ushort)0xffff : checksum;
    }

    private static ulong Sum(ReadOnlySpan<byte> data, ulong sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (ulong)data[i] << 8;
        }
        return sum;
    }

    private static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    public void Dispose() => _stream.Dispose();
}
