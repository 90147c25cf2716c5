using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Net;

/// <summary>Who computes a built frame's UDP checksum.</summary>
public enum UdpChecksumMode
{
    /// <summary>The builder: pseudo-header plus payload, per packet.</summary>
    Software,

    /// <summary>
    /// The device, asked through AF_XDP TX metadata (XDP_TXMD_FLAGS_CHECKSUM): the builder writes the folded
    /// pseudo-header sum (not complemented, as for CHECKSUM_PARTIAL) into the checksum field, and the request
    /// carries <see cref="UdpFrameTemplate.ChecksumStart"/> and <see cref="UdpFrameTemplate.ChecksumOffset"/>.
    /// </summary>
    Partial,
}

/// <summary>
/// The Ethernet + IPv4/IPv6 + UDP headers of one channel's flow, built once; <see cref="Write"/> stamps them in
/// front of a payload per packet. IPv4: 20-byte header, DF, TTL 64, identification incrementing per packet,
/// header checksum. IPv6: 40-byte header, hop limit 64, flow label 0. UDP checksum over the pseudo-header in both
/// families (RFC 768 / RFC 8200), or left to the device (<see cref="UdpChecksumMode.Partial"/>).
/// The constant parts of every checksum are summed here, so a packet costs a copy of the header and a sum over
/// its payload. One template per sending thread: <see cref="Write"/> allocates nothing, locks nothing and
/// advances the IPv4 identification without atomics.
/// </summary>
public sealed unsafe class UdpFrameTemplate
{
    public const int EthernetHeaderLength = 14;
    public const int Ipv4HeaderLength = 20;
    public const int Ipv6HeaderLength = 40;
    public const int UdpHeaderLength = 8;
    public const byte DefaultHopLimit = 64;
    private const byte ProtocolUdp = 17;
    private const ushort DontFragment = 0x4000;

    private readonly byte[] _header;
    private readonly uint _ipv4HeaderSum;
    private readonly uint _udpConstantSum;
    private readonly uint _pseudoHeaderSum;
    private ushort _identification;

    private UdpFrameTemplate(byte[] header, bool ipv6, UdpChecksumMode mode, uint ipv4HeaderSum, uint udpConstantSum, uint pseudoHeaderSum, ushort identification)
    {
        _header = header;
        IsIPv6 = ipv6;
        ChecksumMode = mode;
        _ipv4HeaderSum = ipv4HeaderSum;
        _udpConstantSum = udpConstantSum;
        _pseudoHeaderSum = pseudoHeaderSum;
        _identification = identification;
    }

    /// <summary>Builds the template for datagrams from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    /// <param name="sourceMac">This interface's MAC.</param>
    /// <param name="destinationMac">The next hop's MAC (the destination's, or its gateway's).</param>
    /// <param name="source">Source address and port; same family as <paramref name="destination"/>.</param>
    /// <param name="destination">Destination address and port.</param>
    /// <param name="checksum">Who computes the UDP checksum.</param>
    /// <param name="trafficClass">IPv4 TOS / IPv6 traffic class byte (DSCP &lt;&lt; 2 | ECN).</param>
    /// <param name="firstIdentification">The first IPv4 identification (random when null).</param>
    /// <exception cref="ArgumentException">Families differ, an address is not IPv4/IPv6, or a MAC is not 6 bytes.</exception>
    public static UdpFrameTemplate Create(
        PhysicalAddress sourceMac,
        PhysicalAddress destinationMac,
        IPEndPoint source,
        IPEndPoint destination,
        UdpChecksumMode checksum = UdpChecksumMode.Software,
        byte trafficClass = 0,
        ushort? firstIdentification = null)
    {
        ArgumentNullException.ThrowIfNull(sourceMac);
        ArgumentNullException.ThrowIfNull(destinationMac);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        byte[] srcMac = sourceMac.GetAddressBytes();
        byte[] dstMac = destinationMac.GetAddressBytes();
        if (srcMac.Length != Libc.ETH_ALEN || dstMac.Length != Libc.ETH_ALEN)
        {
            throw new ArgumentException($"MAC addresses must be {Libc.ETH_ALEN} bytes ({sourceMac} -> {destinationMac})");
        }

        if (source.AddressFamily != destination.AddressFamily ||
            source.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException($"source {source} and destination {destination} must both be IPv4 or both IPv6");
        }

        bool ipv6 = source.AddressFamily == AddressFamily.InterNetworkV6;
        int ipLength = ipv6 ? Ipv6HeaderLength : Ipv4HeaderLength;
        byte[] header = new byte[EthernetHeaderLength + ipLength + UdpHeaderLength];
        Span<byte> h = header;
        dstMac.CopyTo(h);
        srcMac.CopyTo(h[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(h[12..], ipv6 ? Libc.ETH_P_IPV6 : Libc.ETH_P_IP);

        Span<byte> ip = h.Slice(EthernetHeaderLength, ipLength);
        byte[] srcIp = source.Address.GetAddressBytes();
        byte[] dstIp = destination.Address.GetAddressBytes();
        uint ipv4HeaderSum = 0;
        if (ipv6)
        {
            // Version 6, traffic class, flow label 0; payload length per packet.
            BinaryPrimitives.WriteUInt32BigEndian(ip, (6u << 28) | ((uint)trafficClass << 20));
            ip[6] = ProtocolUdp;
            ip[7] = DefaultHopLimit;
            srcIp.CopyTo(ip[8..]);
            dstIp.CopyTo(ip[24..]);
        }
        else
        {
            ip[0] = 0x45; // version 4, IHL 5
            ip[1] = trafficClass;
            // Total length (2..3) and identification (4..5) per packet.
            BinaryPrimitives.WriteUInt16BigEndian(ip[6..], DontFragment);
            ip[8] = DefaultHopLimit;
            ip[9] = ProtocolUdp;
            // Header checksum (10..11) per packet.
            srcIp.CopyTo(ip[12..]);
            dstIp.CopyTo(ip[16..]);
            ipv4HeaderSum = InternetChecksum.Sum(ip);
        }

        Span<byte> udp = h[(EthernetHeaderLength + ipLength)..];
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)source.Port);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], (ushort)destination.Port);
        uint pseudo = InternetChecksum.PseudoHeaderSum(srcIp, dstIp, ProtocolUdp);
        // Ports are the UDP header's constant words; its length appears once here and once in the pseudo-header.
        uint udpConstant = InternetChecksum.Fold((ulong)pseudo + (uint)source.Port + (uint)destination.Port);
        return new UdpFrameTemplate(header, ipv6, checksum, ipv4HeaderSum, udpConstant, pseudo,
            firstIdentification ?? (ushort)Random.Shared.Next(0, 0x10000));
    }

    public bool IsIPv6 { get; }

    public UdpChecksumMode ChecksumMode { get; }

    /// <summary>Ethernet + IP + UDP: where the payload starts in the frame (42 for IPv4, 62 for IPv6).</summary>
    public int HeaderLength => _header.Length;

    /// <summary>Offset of the UDP header in the frame: XDP TX metadata's csum_start for <see cref="UdpChecksumMode.Partial"/>.</summary>
    public int ChecksumStart => _header.Length - UdpHeaderLength;

    /// <summary>Offset of the checksum field from <see cref="ChecksumStart"/>: TX metadata's csum_offset (6 for UDP).</summary>
    public const int ChecksumOffset = 6;

    /// <summary>The identification the next IPv4 packet gets.</summary>
    public ushort NextIdentification => _identification;

    /// <summary>The template's header bytes with zero per-packet fields (lengths, identification, checksums).</summary>
    public ReadOnlySpan<byte> Header => _header;

    /// <summary>The largest payload for an interface MTU (the MTU counts the IP header, not Ethernet's).</summary>
    public int MaxPayload(int mtu) => mtu - (_header.Length - EthernetHeaderLength);

    /// <summary>
    /// Writes the headers into <paramref name="frame"/>[0, <see cref="HeaderLength"/>) for the
    /// <paramref name="payloadLength"/> bytes already at <paramref name="frame"/> + <see cref="HeaderLength"/>.
    /// </summary>
    /// <returns>The frame's length: <see cref="HeaderLength"/> + <paramref name="payloadLength"/>.</returns>
    /// <remarks>The payload must fit the IP length fields (at most 65507 bytes for IPv4, 65527 for IPv6); the caller's MTU check keeps it far below.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(byte* frame, int payloadLength)
    {
        int headerLength = _header.Length;
        fixed (byte* template = _header)
        {
            Unsafe.CopyBlockUnaligned(frame, template, (uint)headerLength);
        }

        byte* ip = frame + EthernetHeaderLength;
        byte* udp = frame + headerLength - UdpHeaderLength;
        uint udpLength = (uint)(UdpHeaderLength + payloadLength);
        if (IsIPv6)
        {
            WriteBigEndian(ip + 4, (ushort)udpLength);
        }
        else
        {
            uint totalLength = Ipv4HeaderLength + udpLength;
            ushort id = _identification++;
            WriteBigEndian(ip + 2, (ushort)totalLength);
            WriteBigEndian(ip + 4, id);
            WriteBigEndian(ip + 10, InternetChecksum.Finish((ulong)_ipv4HeaderSum + totalLength + id));
        }

        WriteBigEndian(udp + 4, (ushort)udpLength);
        if (ChecksumMode == UdpChecksumMode.Partial)
        {
            WriteBigEndian(udp + 6, InternetChecksum.Fold((ulong)_pseudoHeaderSum + udpLength));
        }
        else
        {
            // Pseudo-header length + UDP length field: the same value twice.
            ulong sum = (ulong)_udpConstantSum + udpLength + udpLength + InternetChecksum.Sum(udp + UdpHeaderLength, payloadLength);
            ushort checksum = InternetChecksum.Finish(sum);
            WriteBigEndian(udp + 6, checksum == 0 ? (ushort)0xFFFF : checksum);
        }

        return headerLength + payloadLength;
    }

    /// <inheritdoc cref="Write(byte*, int)"/>
    /// <param name="frame">The whole frame buffer: headers, then the payload already in place.</param>
    public int Write(Span<byte> frame, int payloadLength)
    {
        if ((uint)payloadLength > (uint)(frame.Length - _header.Length))
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength), payloadLength, $"does not fit a {frame.Length}-byte frame after {_header.Length} header bytes");
        }

        fixed (byte* f = frame)
        {
            return Write(f, payloadLength);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteBigEndian(byte* destination, ushort value) =>
        Unsafe.WriteUnaligned(destination, BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value);
}
