using System.Buffers.Binary;
using RtUdp.Wire;

namespace RtUdp.Core.Capture;

/// <summary>A UDP payload read from a capture file, with its timestamp (ns, in the file's clock).</summary>
public sealed record CapturedDatagram(long TimestampNs, int DestinationPort, byte[] Payload);

/// <summary>
/// Reads the UDP datagrams of a pcap (microsecond or nanosecond, either byte order) or pcapng file
/// (Enhanced Packet Blocks; if_tsresol per interface; sections of either byte order). Link types:
/// Ethernet (with 802.1Q tags), raw IP, IPv4, IPv6, Linux cooked (SLL, SLL2) and BSD loopback.
/// Packets that are not whole UDP datagrams (other protocols, fragments, cut short) are skipped.
/// </summary>
public static class CaptureFileReader
{
    private const uint PcapMicro = 0xA1B2C3D4;
    private const uint PcapNano = 0xA1B23C4D;
    private const uint PcapNgSection = 0x0A0D0D0A;

    /// <exception cref="InvalidDataException">Not a pcap or pcapng file, or a damaged one.</exception>
    public static List<CapturedDatagram> Read(byte[] file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (file.Length < 24)
        {
            throw new InvalidDataException("too short for a pcap or pcapng file");
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic == PcapNgSection)
        {
            return ReadPcapNg(file);
        }
        return magic is PcapMicro or PcapNano || BinaryPrimitives.ReverseEndianness(magic) is PcapMicro or PcapNano
            ? ReadPcap(file)
            : throw new InvalidDataException("not a pcap or pcapng file (unknown magic number)");
    }

    private static List<CapturedDatagram> ReadPcap(byte[] file)
    {
        bool little = BinaryPrimitives.ReadUInt32LittleEndian(file) is PcapMicro or PcapNano;
        uint magic = little ? BinaryPrimitives.ReadUInt32LittleEndian(file) : BinaryPrimitives.ReadUInt32BigEndian(file);
        long fractionNs = magic == PcapNano ? 1 : 1000;
        var reader = new Fields(file, little);
        int linkType = (int)(reader.U32(20) & 0x0FFF_FFFF);
        var result = new List<CapturedDatagram>();
        int at = 24;
        while (at + 16 <= file.Length)
        {
            long seconds = reader.U32(at);
            long fraction = reader.U32(at + 4);
            int captured = (int)reader.U32(at + 8);
            if (captured < 0 || at + 16 + captured > file.Length)
            {
                throw new InvalidDataException($"record at byte {at} runs past the end of the file");
            }
            Add(result, linkType, file.AsSpan(at + 16, captured), (seconds * 1_000_000_000) + (fraction * fractionNs));
            at += 16 + captured;
        }
        return result;
    }

    private static List<CapturedDatagram> ReadPcapNg(byte[] file)
    {
        var result = new List<CapturedDatagram>();
        var interfaces = new List<(int LinkType, long Units, bool Binary)>();
        bool little = true;
        int at = 0;
        while (at + 12 <= file.Length)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) == PcapNgSection)
            {
                uint byteOrder = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8));
                little = byteOrder == 0x1A2B3C4D;
                if (!little && byteOrder != 0x4D3C2B1A)
                {
                    throw new InvalidDataException($"section at byte {at} has no byte-order magic");
                }
                interfaces.Clear();
            }
            var reader = new Fields(file, little);
            uint type = reader.U32(at);
            int length = (int)reader.U32(at + 4);
            if (length < 12 || length % 4 != 0 || at + length > file.Length)
            {
                throw new InvalidDataException($"block at byte {at} has a bad length ({length})");
            }
            ReadOnlySpan<byte> body = file.AsSpan(at + 8, length - 12);
            if (type == 1 && body.Length >= 8)
            {
                interfaces.Add(InterfaceOf(reader, at + 8, body.Length));
            }
            else if (type == 6 && body.Length >= 20)
            {
                int id = (int)reader.U32(at + 8);
                if (id >= interfaces.Count)
                {
                    throw new InvalidDataException($"packet at byte {at} names interface {id}, which is not described");
                }
                long units = ((long)reader.U32(at + 12) << 32) | reader.U32(at + 16);
                int captured = (int)reader.U32(at + 20);
                if (captured < 0 || 20 + captured > body.Length)
                {
                    throw new InvalidDataException($"packet at byte {at} runs past its block");
                }
                (int linkType, long perSecond, bool binary) = interfaces[id];
                Add(result, linkType, body.Slice(20, captured), ToNs(units, perSecond, binary));
            }
            at += length;
        }
        return result;
    }

    /// <summary>Link type and timestamp resolution (if_tsresol; default microseconds).</summary>
    private static (int LinkType, long Units, bool Binary) InterfaceOf(Fields reader, int body, int length)
    {
        int linkType = reader.U16(body);
        long units = 6;
        bool binary = false;
        int at = body + 8;
        int end = body + length;
        while (at + 4 <= end)
        {
            int code = reader.U16(at);
            int size = reader.U16(at + 2);
            if (code == 0)
            {
                break;
            }
            if (code == 9 && size >= 1)
            {
                byte resolution = reader.Byte(at + 4);
                binary = (resolution & 0x80) != 0;
                units = resolution & 0x7F;
            }
            at += 4 + ((size + 3) & ~3);
        }
        return (linkType, units, binary);
    }

    private static long ToNs(long units, long exponent, bool binary)
    {
        if (binary)
        {
            return (long)((Int128)units * 1_000_000_000 >> (int)exponent);
        }
        if (exponent <= 9)
        {
            return units * (long)Math.Pow(10, 9 - exponent);
        }
        return units / (long)Math.Pow(10, exponent - 9);
    }

    private static void Add(List<CapturedDatagram> result, int linkType, ReadOnlySpan<byte> frame, long timestampNs)
    {
        ReadOnlySpan<byte> ip = linkType switch
        {
            1 => Ethernet(frame),
            0 => frame.Length >= 4 ? frame[4..] : default, // BSD loopback: the address family, then IP
            101 or 228 or 229 or 12 or 14 => frame,
            113 => frame.Length >= 16 ? frame[16..] : default, // Linux cooked (SLL)
            276 => frame.Length >= 20 ? frame[20..] : default, // Linux cooked v2 (SLL2)
            _ => default,
        };
        if (!ip.IsEmpty && UdpFrame.TryParseIp(ip, out int port, out ReadOnlySpan<byte> payload))
        {
            result.Add(new CapturedDatagram(timestampNs, port, payload.ToArray()));
        }
    }

    private static ReadOnlySpan<byte> Ethernet(ReadOnlySpan<byte> frame)
    {
        int at = 12;
        while (frame.Length >= at + 2)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
            if (type is 0x8100 or 0x88A8)
            {
                at += 4; // VLAN tag
                continue;
            }
            return type is 0x0800 or 0x86DD ? frame[(at + 2)..] : default;
        }
        return default;
    }

    private readonly struct Fields(byte[] file, bool little)
    {
        public uint U32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));

        public ushort U16(int at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(file.AsSpan(at));

        public byte Byte(int at) => file[at];
    }
}
