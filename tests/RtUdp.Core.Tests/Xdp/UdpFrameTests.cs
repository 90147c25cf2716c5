using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using RtUdp.Core.Contract.Channels;
using SocketAddress = RtUdp.Core.Engine.SocketAddress;
using RtUdp.Core.Net;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>Frames built by <see cref="UdpFrameTemplate"/> checked field by field, parsed back, and corrupted copies rejected for the right reason.</summary>
public sealed unsafe class UdpFrameTests
{
    internal static readonly PhysicalAddress MacA = PhysicalAddress.Parse("02-00-00-00-00-0A");
    internal static readonly PhysicalAddress MacB = PhysicalAddress.Parse("02-00-00-00-00-0B");
    private static readonly IPEndPoint V4Source = new(IPAddress.Parse("10.1.2.3"), 40000);
    private static readonly IPEndPoint V4Destination = new(IPAddress.Parse("10.1.2.4"), 5004);
    private static readonly IPEndPoint V6Source = new(IPAddress.Parse("fd00::1"), 40001);
    private static readonly IPEndPoint V6Destination = new(IPAddress.Parse("fd00::2:0:0:2"), 5006);

    public static TheoryData<bool, int> Sizes() => new()
    {
        { false, 0 }, { false, 1 }, { false, 7 }, { false, 64 }, { false, 1001 }, { false, 1472 },
        { true, 0 }, { true, 1 }, { true, 9 }, { true, 64 }, { true, 999 }, { true, 1452 },
    };

    internal static UdpFrameTemplate Template(bool ipv6, UdpChecksumMode mode = UdpChecksumMode.Software, ushort? id = 0x1234) =>
        UdpFrameTemplate.Create(MacA, MacB, ipv6 ? V6Source : V4Source, ipv6 ? V6Destination : V4Destination, mode, trafficClass: 0xb8, firstIdentification: id);

    internal static byte[] Payload(int length, int seed)
    {
        byte[] payload = new byte[length];
        new Random(seed).NextBytes(payload);
        return payload;
    }

    internal static byte[] Build(UdpFrameTemplate template, byte[] payload)
    {
        byte[] frame = new byte[template.HeaderLength + payload.Length];
        payload.CopyTo(frame, template.HeaderLength);
        Assert.Equal(frame.Length, template.Write(frame, payload.Length));
        return frame;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Headers_carry_every_field_and_valid_checksums(bool ipv6, int size)
    {
        UdpFrameTemplate template = Template(ipv6);
        byte[] payload = Payload(size, size);
        byte[] frame = Build(template, payload);

        Assert.Equal(MacB.GetAddressBytes(), frame[0..6]);
        Assert.Equal(MacA.GetAddressBytes(), frame[6..12]);
        Span<byte> ip = frame.AsSpan(14);
        Span<byte> udp = frame.AsSpan(template.ChecksumStart);
        IPEndPoint source = ipv6 ? V6Source : V4Source, destination = ipv6 ? V6Destination : V4Destination;
        if (ipv6)
        {
            Assert.Equal(62, template.HeaderLength);
            Assert.Equal(0x86DD, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
            Assert.Equal(0x6b800000u, BinaryPrimitives.ReadUInt32BigEndian(ip)); // version 6, traffic class 0xb8, flow 0
            Assert.Equal(8 + size, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
            Assert.Equal(17, ip[6]);
            Assert.Equal(64, ip[7]);
            Assert.Equal(source.Address.GetAddressBytes(), ip.Slice(8, 16).ToArray());
            Assert.Equal(destination.Address.GetAddressBytes(), ip.Slice(24, 16).ToArray());
        }
        else
        {
            Assert.Equal(42, template.HeaderLength);
            Assert.Equal(0x0800, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)));
            Assert.Equal(0x45, ip[0]);
            Assert.Equal(0xb8, ip[1]);
            Assert.Equal(28 + size, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
            Assert.Equal(0x1234, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
            Assert.Equal(0x4000, BinaryPrimitives.ReadUInt16BigEndian(ip[6..])); // DF, offset 0
            Assert.Equal(64, ip[8]);
            Assert.Equal(17, ip[9]);
            Assert.Equal(0xFFFF, InternetChecksum.Fold(InternetChecksum.Sum(ip[..20])));
            Assert.Equal(source.Address.GetAddressBytes(), ip.Slice(12, 4).ToArray());
            Assert.Equal(destination.Address.GetAddressBytes(), ip.Slice(16, 4).ToArray());
        }

        Assert.Equal(source.Port, BinaryPrimitives.ReadUInt16BigEndian(udp));
        Assert.Equal(destination.Port, BinaryPrimitives.ReadUInt16BigEndian(udp[2..]));
        Assert.Equal(8 + size, BinaryPrimitives.ReadUInt16BigEndian(udp[4..]));
        byte[] zeroed = udp.ToArray();
        zeroed[6] = zeroed[7] = 0;
        ushort expected = InternetChecksum.Udp(source.Address.GetAddressBytes(), destination.Address.GetAddressBytes(), zeroed);
        Assert.Equal(expected, BinaryPrimitives.ReadUInt16BigEndian(udp[6..]));
        Assert.Equal(payload, frame[template.HeaderLength..]);
    }

    [Fact]
    public void Ipv4_identification_increments_per_packet_and_wraps()
    {
        UdpFrameTemplate template = Template(ipv6: false, id: 0xFFFF);
        ushort[] ids = [.. Enumerable.Range(0, 3).Select(_ => BinaryPrimitives.ReadUInt16BigEndian(Build(template, [1, 2, 3]).AsSpan(18)))];
        Assert.Equal([0xFFFF, 0, 1], ids);
        Assert.Equal(2, template.NextIdentification);
    }

    [Fact]
    public void A_zero_udp_checksum_is_sent_as_ffff()
    {
        // Find a payload whose checksum comes out 0 by choosing its last two bytes: then the builder must write 0xFFFF.
        UdpFrameTemplate template = Template(ipv6: false);
        byte[] payload = new byte[4];
        byte[] frame = Build(template, payload);
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40));
        // Adding the checksum's value to a payload word turns the complement of the sum into 0 (or its twin 0xFFFF).
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(2), checksum);
        frame = Build(template, payload);
        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(40)));
        Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(frame, 0, out _));
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 333)]
    [InlineData(true, 0)]
    [InlineData(true, 333)]
    public void Partial_checksum_writes_the_pseudo_header_sum_which_the_device_completes(bool ipv6, int size)
    {
        UdpFrameTemplate template = Template(ipv6, UdpChecksumMode.Partial);
        byte[] frame = Build(template, Payload(size, 7));
        Assert.Equal(ipv6 ? 54 : 34, template.ChecksumStart);
        Assert.Equal(6, UdpFrameTemplate.ChecksumOffset);
        IPEndPoint source = ipv6 ? V6Source : V4Source, destination = ipv6 ? V6Destination : V4Destination;
        uint pseudo = InternetChecksum.PseudoHeaderSum(source.Address.GetAddressBytes(), destination.Address.GetAddressBytes(), 17);
        int field = template.ChecksumStart + UdpFrameTemplate.ChecksumOffset;
        Assert.Equal(InternetChecksum.Fold((ulong)pseudo + (uint)(8 + size)), BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(field)));

        // What a device does for XDP_TXMD_FLAGS_CHECKSUM: checksum from csum_start to the end, store at csum_start + csum_offset.
        ushort completed = InternetChecksum.Finish(InternetChecksum.Sum(frame.AsSpan(template.ChecksumStart)));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(field), completed == 0 ? (ushort)0xFFFF : completed);
        Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(frame, 0, out _));
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Built_frames_parse_back_to_their_addresses_ports_and_payload(bool ipv6, int size)
    {
        UdpFrameTemplate template = Template(ipv6);
        byte[] payload = Payload(size, size + 1);
        // Ethernet pads short frames to 60 bytes: the parser must go by the IP length, not the frame's.
        byte[] frame = Build(template, payload);
        byte[] padded = [.. frame, .. new byte[Math.Max(0, 60 - frame.Length)]];
        IPEndPoint source = ipv6 ? V6Source : V4Source, destination = ipv6 ? V6Destination : V4Destination;
        fixed (byte* f = padded)
        {
            Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(f, padded.Length, (ushort)destination.Port, out UdpFrame parsed));
            Assert.Equal(ipv6, parsed.IsIPv6);
            Assert.Equal(source.Port, parsed.SourcePort);
            Assert.Equal(destination.Port, parsed.DestinationPort);
            Assert.Equal(source.Address.GetAddressBytes(), new ReadOnlySpan<byte>(parsed.SourceAddress, ipv6 ? 16 : 4).ToArray());
            Assert.Equal(destination.Address.GetAddressBytes(), new ReadOnlySpan<byte>(parsed.DestinationAddress, ipv6 ? 16 : 4).ToArray());
            Assert.Equal(size, parsed.PayloadLength);
            Assert.Equal(template.HeaderLength, (int)(parsed.Payload - f));
            Assert.Equal(payload, new ReadOnlySpan<byte>(parsed.Payload, parsed.PayloadLength).ToArray());

            EndpointBlock endpoint = default;
            parsed.ReadSource(ref endpoint);
            Assert.Equal(source, endpoint.ToIPEndPoint());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Source_sockaddr_image_is_what_SocketAddress_reads(bool ipv6)
    {
        byte[] frame = Build(Template(ipv6), [42]);
        Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(frame, 0, out UdpFrame parsed));
        byte* sockaddr = stackalloc byte[SocketAddress.MaxLength];
        int length = parsed.WriteSourceSockaddr(sockaddr);
        Assert.Equal(ipv6 ? 28 : 16, length);
        EndpointBlock endpoint = default;
        SocketAddress.Read(sockaddr, ref endpoint);
        Assert.Equal(ipv6 ? V6Source : V4Source, endpoint.ToIPEndPoint());

        // And SocketAddress.Write of that endpoint gives the same bytes: the image is the kernel's layout.
        byte* written = stackalloc byte[SocketAddress.MaxLength];
        Assert.Equal(length, SocketAddress.Write(endpoint, written));
        Assert.True(new ReadOnlySpan<byte>(sockaddr, length).SequenceEqual(new ReadOnlySpan<byte>(written, length)));
    }

    public static TheoryData<bool, string, UdpFrameVerdict> Corruptions() => new()
    {
        { false, "payload", UdpFrameVerdict.BadUdpChecksum },
        { true, "payload", UdpFrameVerdict.BadUdpChecksum },
        { false, "ttl", UdpFrameVerdict.BadIpChecksum },
        { false, "truncate", UdpFrameVerdict.Truncated },
        { true, "truncate", UdpFrameVerdict.Truncated },
        { false, "short", UdpFrameVerdict.Truncated },
        { false, "fragment", UdpFrameVerdict.Fragment },
        { false, "offset", UdpFrameVerdict.Fragment },
        { true, "fragment", UdpFrameVerdict.Fragment },
        { false, "tcp", UdpFrameVerdict.NotUdp },
        { true, "tcp", UdpFrameVerdict.NotUdp },
        { false, "arp", UdpFrameVerdict.NotIp },
        { false, "ihl", UdpFrameVerdict.BadIpHeader },
        { true, "version", UdpFrameVerdict.BadIpHeader },
        { false, "udp-length", UdpFrameVerdict.BadUdpLength },
        { true, "udp-length", UdpFrameVerdict.BadUdpLength },
        { true, "zero-checksum", UdpFrameVerdict.BadUdpChecksum },
        { false, "port", UdpFrameVerdict.WrongPort },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Corrupted_frames_are_rejected_for_the_right_reason(bool ipv6, string corruption, UdpFrameVerdict verdict)
    {
        UdpFrameTemplate template = Template(ipv6);
        byte[] frame = Build(template, Payload(100, 3));
        frame = Corrupt(frame, ipv6, corruption);
        ushort port = (ushort)(corruption == "port" ? 9999 : (ipv6 ? V6Destination : V4Destination).Port);
        Assert.Equal(verdict, UdpFrameParser.Parse(frame, port, out _));
    }

    [Fact]
    public void Ipv4_zero_udp_checksum_means_none_and_is_accepted()
    {
        byte[] frame = Build(Template(ipv6: false), Payload(10, 1));
        frame[40] = frame[41] = 0;
        frame[50] ^= 0xFF; // not checked, so not noticed
        Assert.Equal(UdpFrameVerdict.Accepted, UdpFrameParser.Parse(frame, 0, out _));
    }

    /// <summary>Applies <paramref name="corruption"/>; changes to the IPv4 header keep its checksum right so only the named fault shows.</summary>
    internal static byte[] Corrupt(byte[] frame, bool ipv6, string corruption)
    {
        int ip = 14, udp = ipv6 ? 54 : 34;
        switch (corruption)
        {
            case "payload":
                frame[^1] ^= 0x01;
                return frame;
            case "ttl":
                frame[ip + 8]--;
                return frame;
            case "truncate":
                return frame[..^1];
            case "short":
                return frame[..30];
            case "fragment" when ipv6:
                frame[ip + 6] = 44;
                return frame;
            case "fragment":
                frame[ip + 6] |= 0x20; // MF
                return FixIpv4Checksum(frame);
            case "offset":
                frame[ip + 7] = 0x10; // fragment offset 16 (x 8 bytes)
                return FixIpv4Checksum(frame);
            case "tcp":
                frame[ip + (ipv6 ? 6 : 9)] = 6;
                return ipv6 ? frame : FixIpv4Checksum(frame);
            case "arp":
                frame[12] = 0x08;
                frame[13] = 0x06;
                return frame;
            case "ihl":
                frame[ip] = 0x44;
                return frame;
            case "version":
                frame[ip] = 0x40;
                return frame;
            case "udp-length":
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(udp + 4), (ushort)(frame.Length - udp + 1));
                return frame;
            case "zero-checksum":
                frame[udp + 6] = frame[udp + 7] = 0;
                return frame;
            case "port":
                return frame;
            default:
                throw new ArgumentException(corruption);
        }
    }

    private static byte[] FixIpv4Checksum(byte[] frame)
    {
        frame[24] = frame[25] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(24), InternetChecksum.Compute(frame.AsSpan(14, 20)));
        return frame;
    }

    [Fact]
    public void Build_and_parse_allocate_nothing_in_steady_state()
    {
        UdpFrameTemplate v4 = Template(ipv6: false);
        UdpFrameTemplate v6 = Template(ipv6: true);
        byte* frame = stackalloc byte[2048];
        new Span<byte>(frame, 2048).Fill(0x5A);
        long accepted = 0;
        for (int i = 0; i < 10_000; i++)
        {
            accepted += Round(v4, v6, frame, i);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200_000; i++)
        {
            accepted += Round(v4, v6, frame, i);
        }
        long after = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(0, after - before);
        Assert.Equal(210_000, accepted);
    }

    /// <summary>One packet: build (alternating families, varied lengths incl. odd) and parse; 1 when it parsed back whole.</summary>
    private static int Round(UdpFrameTemplate v4, UdpFrameTemplate v6, byte* frame, int i)
    {
        int length = (i * 37) % 1400;
        UdpFrameTemplate t = (i & 1) == 0 ? v4 : v6;
        int frameLength = t.Write(frame, length);
        return UdpFrameParser.Parse(frame, frameLength, 0, out UdpFrame parsed) == UdpFrameVerdict.Accepted && parsed.PayloadLength == length ? 1 : 0;
    }

    [Fact]
    public void Families_must_agree_and_macs_must_be_ethernet()
    {
        Assert.Throws<ArgumentException>(() => UdpFrameTemplate.Create(MacA, MacB, V4Source, V6Destination));
        Assert.Throws<ArgumentException>(() => UdpFrameTemplate.Create(PhysicalAddress.Parse("01-02-03"), MacB, V4Source, V4Destination));
        Assert.Equal(1472, Template(false).MaxPayload(1500));
        Assert.Equal(1452, Template(true).MaxPayload(1500));
    }
}
