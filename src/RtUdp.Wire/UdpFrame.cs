using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace RtUdp.Wire;

/// <summary>
/// Synthesizes the IPv4 or IPv6 and UDP headers of a datagram received on a socket (which only sees
/// the payload), with right lengths and checksums, and parses them back out of a captured frame.
/// </summary>
public static class UdpFrame
{
    public const int UdpHeader = 8;
    public const int Ipv4Header = 20;
    public const int Ipv6Header = 40;

    /// <summary>The largest frame: an IPv6 header, a UDP header and the largest UDP payload.</summary>
    public const int MaxFrame = Ipv6Header + UdpHeader + 65535;

    /// <summary>Writes the frame into <paramref name="frame"/>; returns its length.</summary>
    /// <remarks>IPv4 when both ends are IPv4 (IPv4-mapped IPv6 addresses are unmapped), else IPv6.</remarks>
    public static int Build(Span<byte> frame, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        IPAddress from = Unmap(source.Address);
        IPAddress to = Unmap(destination.Address);
        bool v4 = from.AddressFamily == AddressFamily.InterNetwork && to.AddressFamily == AddressFamily.InterNetwork;
        if (!v4)
        {
            from = from.AddressFamily == AddressFamily.InterNetwork ? from.MapToIPv6() : from;
            to = to.AddressFamily == AddressFamily.InterNetwork ? to.MapToIPv6() : to;
        }
        int ip = v4 ? Ipv4Header : Ipv6Header;
        int udpLength = UdpHeader + payload.Length;
        Span<byte> udp = frame[ip..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)destination.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLength);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        payload.CopyTo(udp[UdpHeader..]);

        Span<byte> addresses = stackalloc byte[32];
        int addressLength = v4 ? 4 : 16;
        from.TryWriteBytes(addresses, out _);
        to.TryWriteBytes(addresses[addressLength..], out _);
        if (v4)
        {
            Span<byte> h = frame[..Ipv4Header];
            h.Clear();
            h[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)(Ipv4Header + udpLength));
            BinaryPrimitives.WriteUInt16BigEndian(h[6..], 0x4000); // don't fragment
            h[8] = 64;
            h[9] = (byte)ProtocolType.Udp;
            addresses[..8].CopyTo(h[12..]);
            BinaryPrimitives.WriteUInt16BigEndian(h[10..], Fold(Sum(h, 0)));
        }
        else
        {
            Span<byte> h = frame[..Ipv6Header];
            h.Clear();
            h[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)udpLength);
            h[6] = (byte)ProtocolType.Udp;
            h[7] = 64;
            addresses.CopyTo(h[8..]);
        }
        // Pseudo-header (addresses, protocol, UDP length) + UDP header and payload; 0 is sent as 0xFFFF.
        uint sum = Sum(addresses[..(2 * addressLength)], 0) + (uint)ProtocolType.Udp + (uint)udpLength;
        ushort checksum = Fold(Sum(udp[..udpLength], sum));
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], checksum == 0 ? (ushort)0xFFFF : checksum);
        return ip + udpLength;
    }

    private static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static uint Sum(ReadOnlySpan<byte> bytes, uint sum)
    {
        int i = 0;
        for (; i + 1 < bytes.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(bytes[i..]);
            if (sum > 0xFFFF_0000)
            {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }
        }
        if (i < bytes.Length)
        {
            sum += (uint)bytes[i] << 8;
        }
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    /// <summary>The UDP datagram in an IP packet (IPv4 or IPv6, not a fragment); false when it is none.</summary>
    public static bool TryParseIp(ReadOnlySpan<byte> packet, out int destinationPort, out ReadOnlySpan<byte> payload)
    {
        destinationPort = 0;
        payload = default;
        if (packet.Length < 1)
        {
            return false;
        }
        int version = packet[0] >> 4;
        ReadOnlySpan<byte> udp;
        if (version == 4)
        {
            int ihl = (packet[0] & 0x0F) * 4;
            if (packet.Length < Ipv4Header || ihl < Ipv4Header || packet.Length < ihl || packet[9] != (byte)ProtocolType.Udp)
            {
                return false;
            }
            ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
            if ((fragment & 0x3FFF) != 0)
            {
                return false; // a fragment: its payload is not a whole datagram
            }
            udp = packet[ihl..];
        }
        else if (version == 6)
        {
            if (packet.Length < Ipv6Header)
            {
                return false;
            }
            int next = packet[6];
            int at = Ipv6Header;
            // Hop-by-hop, routing and destination options headers; a fragment header ends it.
            while (next is 0 or 43 or 60)
            {
                if (packet.Length < at + 8)
                {
                    return false;
                }
                next = packet[at];
                at += (packet[at + 1] + 1) * 8;
            }
            if (next != (int)ProtocolType.Udp || packet.Length < at)
            {
                return false;
            }
            udp = packet[at..];
        }
        else
        {
            return false;
        }
        if (udp.Length < UdpHeader)
        {
            return false;
        }
        destinationPort = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        if (length < UdpHeader)
        {
            return false;
        }
        payload = udp[UdpHeader..Math.Min(udp.Length, length)];
        return true;
    }
}
