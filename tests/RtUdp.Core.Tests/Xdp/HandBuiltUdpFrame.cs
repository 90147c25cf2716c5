using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Just enough of an Ethernet/IPv4/UDP frame writer for the AF_XDP tests (the engine's own frame builder lives
/// elsewhere): 14 + 20 + 8 header bytes, the IPv4 header checksum and the UDP checksum over the pseudo-header.
/// </summary>
internal static class HandBuiltUdpFrame
{
    public const int HeaderLength = 14 + 20 + 8;

    /// <summary>Writes the whole frame into <paramref name="frame"/>; returns its length.</summary>
    public static int Write(Span<byte> frame, PhysicalAddress source, PhysicalAddress destination,
        IPAddress sourceIp, IPAddress destinationIp, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        int udpLength = 8 + payload.Length;
        int ipLength = 20 + udpLength;
        destination.GetAddressBytes().CopyTo(frame);
        source.GetAddressBytes().CopyTo(frame[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x0800);

        Span<byte> ip = frame.Slice(14, 20);
        ip[0] = 0x45; // version 4, 5 words
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0); // id
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // DF
        ip[8] = 64; // TTL
        ip[9] = 17; // UDP
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        sourceIp.GetAddressBytes().CopyTo(ip[12..]);
        destinationIp.GetAddressBytes().CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip, 0)));

        Span<byte> udp = frame.Slice(34, udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        payload.CopyTo(udp[8..]);
        // Pseudo-header: addresses, protocol, UDP length; then the UDP header and payload.
        uint sum = Sum(ip.Slice(12, 8), 0) + 17u + (uint)udpLength;
        ushort checksum = Fold(Sum(udp, sum));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], checksum == 0 ? (ushort)0xffff : checksum);
        return 14 + ipLength;
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
