using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Net;

/// <summary>What <see cref="UdpFrameParser.Parse"/> made of a received frame: <see cref="Accepted"/>, or why it was rejected (the caller counts each).</summary>
public enum UdpFrameVerdict : byte
{
    Accepted,

    /// <summary>Shorter than its headers or than the lengths they declare.</summary>
    Truncated,

    /// <summary>Not IPv4 or IPv6 in an untagged Ethernet frame (ARP, VLAN-tagged, ...).</summary>
    NotIp,

    /// <summary>IP, but not carrying UDP directly (TCP, ICMP, an IPv6 extension header other than a fragment).</summary>
    NotUdp,

    /// <summary>An IPv4 fragment (MF or offset) or an IPv6 fragment header: not reassembled here.</summary>
    Fragment,

    /// <summary>IPv4 IHL below 5, a version that disagrees with the EtherType, or lengths that contradict each other.</summary>
    BadIpHeader,

    /// <summary>IPv4 header checksum wrong.</summary>
    BadIpChecksum,

    /// <summary>UDP length below 8 or beyond the IP payload.</summary>
    BadUdpLength,

    /// <summary>UDP checksum wrong, or zero over IPv6 (where it is mandatory).</summary>
    BadUdpChecksum,

    /// <summary>A UDP destination port other than the one asked for.</summary>
    WrongPort,
}

/// <summary>
/// A parsed UDP frame: addresses (network order), ports (host order) and where the payload is (inside the frame that
/// was parsed: valid as long as that buffer is). A plain struct: parsing allocates nothing.
/// </summary>
public unsafe struct UdpFrame
{
    public bool IsIPv6;
    public ushort SourcePort;
    public ushort DestinationPort;

    /// <summary>IPv4 uses the first 4 bytes.</summary>
    public fixed byte SourceAddress[16];

    /// <summary>IPv4 uses the first 4 bytes.</summary>
    public fixed byte DestinationAddress[16];
    public byte* Payload;
    public int PayloadLength;

    /// <summary>
    /// Writes the source as a sockaddr_in / sockaddr_in6 image (the bytes recvmsg would have given, as
    /// <see cref="Engine.SocketAddress.Read"/> reads them); <paramref name="scopeId"/> goes into sin6_scope_id for a
    /// link-local IPv6 source. <paramref name="sockaddr"/> must hold <see cref="Engine.SocketAddress.MaxLength"/> bytes.
    /// </summary>
    /// <returns>The sockaddr's length: 16 or 28.</returns>
    public readonly int WriteSourceSockaddr(byte* sockaddr, uint scopeId = 0)
    {
        new Span<byte>(sockaddr, Engine.SocketAddress.MaxLength).Clear();
        *(ushort*)sockaddr = IsIPv6 ? EndpointBlock.FamilyInet6 : EndpointBlock.FamilyInet;
        sockaddr[2] = (byte)(SourcePort >> 8);
        sockaddr[3] = (byte)SourcePort;
        if (!IsIPv6)
        {
            for (int i = 0; i < 4; i++)
            {
                sockaddr[4 + i] = SourceAddress[i];
            }
            return 16;
        }

        for (int i = 0; i < 16; i++)
        {
            sockaddr[8 + i] = SourceAddress[i];
        }

        bool linkLocal = SourceAddress[0] == 0xfe && (SourceAddress[1] & 0xc0) == 0x80;
        *(uint*)(sockaddr + 24) = linkLocal ? scopeId : 0;
        return 28;
    }

    /// <summary>The source as the engine's endpoint (what <see cref="RxPacketHeader.Source"/> holds).</summary>
    public readonly void ReadSource(ref EndpointBlock endpoint, uint scopeId = 0)
    {
        byte* sockaddr = stackalloc byte[Engine.SocketAddress.MaxLength];
        WriteSourceSockaddr(sockaddr, scopeId);
        Engine.SocketAddress.Read(sockaddr, ref endpoint);
    }
}

/// <summary>
/// Validates a received Ethernet frame as one whole UDP datagram over IPv4 or IPv6 and locates its payload: lengths
/// against the frame (Ethernet padding after the IP datagram is ignored), the IPv4 header checksum, fragments, the
/// UDP length and checksum (when non-zero over IPv4; always over IPv6). Allocates nothing, locks nothing.
/// </summary>
public static unsafe class UdpFrameParser
{
    private const int EthernetHeaderLength = UdpFrameTemplate.EthernetHeaderLength;
    private const int UdpHeaderLength = UdpFrameTemplate.UdpHeaderLength;
    private const byte ProtocolUdp = 17;
    private const byte Ipv6Fragment = 44;

    /// <summary>Parses the frame of <paramref name="length"/> bytes at <paramref name="frame"/>.</summary>
    /// <param name="port">The UDP destination port to accept (host order); 0 accepts any.</param>
    /// <param name="parsed">Filled when the verdict is <see cref="UdpFrameVerdict.Accepted"/> (and, as far as parsed, otherwise).</param>
    public static UdpFrameVerdict Parse(byte* frame, int length, ushort port, out UdpFrame parsed)
    {
        UdpFrame local = default;
        UdpFrameVerdict verdict = Parse(frame, length, port, &local);
        parsed = local;
        return verdict;
    }

    private static UdpFrameVerdict Parse(byte* frame, int length, ushort port, UdpFrame* parsed)
    {
        if (length < EthernetHeaderLength)
        {
            return UdpFrameVerdict.Truncated;
        }

        ushort etherType = ReadBigEndian(frame + 12);
        byte* ip = frame + EthernetHeaderLength;
        int available = length - EthernetHeaderLength;
        byte* udp;
        int udpAvailable;
        uint pseudoSum;
        if (etherType == 0x0800)
        {
            if (available < UdpFrameTemplate.Ipv4HeaderLength)
            {
                return UdpFrameVerdict.Truncated;
            }

            int ihl = (ip[0] & 0x0F) * 4;
            int totalLength = ReadBigEndian(ip + 2);
            if (ip[0] >> 4 != 4 || ihl < UdpFrameTemplate.Ipv4HeaderLength || totalLength < ihl)
            {
                return UdpFrameVerdict.BadIpHeader;
            }

            if (totalLength > available)
            {
                return UdpFrameVerdict.Truncated;
            }

            if (InternetChecksum.Fold(InternetChecksum.Sum(ip, ihl)) != 0xFFFF)
            {
                return UdpFrameVerdict.BadIpChecksum;
            }

            // MF set or a non-zero fragment offset.
            if ((ReadBigEndian(ip + 6) & 0x3FFF) != 0)
            {
                return UdpFrameVerdict.Fragment;
            }

            if (ip[9] != ProtocolUdp)
            {
                return UdpFrameVerdict.NotUdp;
            }

            Unsafe.CopyBlockUnaligned(parsed->SourceAddress, ip + 12, 4);
            Unsafe.CopyBlockUnaligned(parsed->DestinationAddress, ip + 16, 4);
            pseudoSum = InternetChecksum.Sum(ip + 12, 8);
            udp = ip + ihl;
            udpAvailable = totalLength - ihl;
        }
        else if (etherType == 0x86DD)
        {
            if (available < UdpFrameTemplate.Ipv6HeaderLength)
            {
                return UdpFrameVerdict.Truncated;
            }

            if (ip[0] >> 4 != 6)
            {
                return UdpFrameVerdict.BadIpHeader;
            }

            int payloadLength = ReadBigEndian(ip + 4);
            if (payloadLength > available - UdpFrameTemplate.Ipv6HeaderLength)
            {
                return UdpFrameVerdict.Truncated;
            }

            if (ip[6] != ProtocolUdp)
            {
                return ip[6] == Ipv6Fragment ? UdpFrameVerdict.Fragment : UdpFrameVerdict.NotUdp;
            }

            parsed->IsIPv6 = true;
            Unsafe.CopyBlockUnaligned(parsed->SourceAddress, ip + 8, 16);
            Unsafe.CopyBlockUnaligned(parsed->DestinationAddress, ip + 24, 16);
            pseudoSum = InternetChecksum.Sum(ip + 8, 32);
            udp = ip + UdpFrameTemplate.Ipv6HeaderLength;
            udpAvailable = payloadLength;
        }
        else
        {
            return UdpFrameVerdict.NotIp;
        }

        if (udpAvailable < UdpHeaderLength)
        {
            return UdpFrameVerdict.Truncated;
        }

        int udpLength = ReadBigEndian(udp + 4);
        if (udpLength < UdpHeaderLength || udpLength > udpAvailable)
        {
            return UdpFrameVerdict.BadUdpLength;
        }

        parsed->SourcePort = ReadBigEndian(udp);
        parsed->DestinationPort = ReadBigEndian(udp + 2);
        ushort checksum = ReadBigEndian(udp + 6);
        if (checksum != 0 || parsed->IsIPv6)
        {
            // Pseudo-header (addresses, protocol, UDP length) plus the datagram including its checksum sums to 0xFFFF.
            ulong sum = (ulong)pseudoSum + ProtocolUdp + (uint)udpLength + InternetChecksum.Sum(udp, udpLength);
            if (checksum == 0 || InternetChecksum.Fold(sum) != 0xFFFF)
            {
                return UdpFrameVerdict.BadUdpChecksum;
            }
        }

        if (port != 0 && parsed->DestinationPort != port)
        {
            return UdpFrameVerdict.WrongPort;
        }

        parsed->Payload = udp + UdpHeaderLength;
        parsed->PayloadLength = udpLength - UdpHeaderLength;
        return UdpFrameVerdict.Accepted;
    }

    /// <inheritdoc cref="Parse(byte*, int, ushort, out UdpFrame)"/>
    /// <remarks>The payload pointer points into <paramref name="frame"/>: only valid while it stays pinned or native.</remarks>
    public static UdpFrameVerdict Parse(ReadOnlySpan<byte> frame, ushort port, out UdpFrame parsed)
    {
        fixed (byte* f = frame)
        {
            return Parse(f, frame.Length, port, out parsed);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort ReadBigEndian(byte* source)
    {
        ushort value = Unsafe.ReadUnaligned<ushort>(source);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;
    }
}
