using System.Buffers.Binary;
using System.Net;

namespace RtUdp.Daemon.Tests.Generators;

/// <summary>Classic pcap files built by hand (microsecond stamps, Ethernet frames, IPv4/UDP), independent of the daemon's writer.</summary>
public static class PcapFiles
{
    /// <summary>One frame per (time in us, payload) from 10.0.0.1:4000 to 10.0.0.2:<paramref name="port"/>; a TCP frame is added as noise.</summary>
    public static byte[] EthernetUdp(IReadOnlyList<(long Micros, byte[] Payload)> packets, int port = 5000)
    {
        using var file = new MemoryStream();
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1); // LINKTYPE_ETHERNET
        file.Write(header);
        long baseMicros = 1_700_000_000L * 1_000_000;
        for (int i = 0; i < packets.Count; i++)
        {
            Record(file, baseMicros + packets[i].Micros, Frame(packets[i].Payload, 17, port));
            if (i == 0)
            {
                Record(file, baseMicros + packets[i].Micros + 1, Frame([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 6, port));
            }
        }
        return file.ToArray();
    }

    private static void Record(Stream file, long micros, byte[] frame)
    {
        Span<byte> record = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(micros / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(micros % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(record[8..], (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], (uint)frame.Length);
        file.Write(record);
        file.Write(frame);
    }

    private static byte[] Frame(byte[] payload, byte protocol, int port)
    {
        var frame = new byte[14 + 20 + 8 + payload.Length];
        frame[12] = 0x08; // IPv4
        Span<byte> ip = frame.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload.Length));
        ip[8] = 64;
        ip[9] = protocol;
        IPAddress.Parse("10.0.0.1").TryWriteBytes(ip[12..], out _);
        IPAddress.Parse("10.0.0.2").TryWriteBytes(ip[16..], out _);
        Span<byte> udp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 4000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload.Length));
        payload.CopyTo(udp[8..]);
        return frame;
    }
}
