using System.Net;
using RtUdp.Core.Net;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>The Internet checksum against RFC 1071's worked example, a textbook IPv4 header, and a byte-at-a-time reference.</summary>
public sealed class InternetChecksumTests
{
    /// <summary>The plain definition: 16-bit big-endian words, a trailing byte padded with zero, end-around carry.</summary>
    /// <remarks>
    /// Deliberately not the product's <see cref="InternetChecksum"/>: an independent oracle (one word at a time, folded
    /// at every step) for the product's wide, deferred-carry sums, so it stays a copy of the definition.
    /// </remarks>
    private static ushort ReferenceSum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    [Fact]
    public void Rfc1071_example_sums_to_ddf2_and_checksums_to_220d()
    {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to dd f2 (the example's "ddf2" after the carries).
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2u, InternetChecksum.Sum(data));
        Assert.Equal(0x220d, InternetChecksum.Compute(data));
    }

    [Fact]
    public void A_known_ipv4_header_checksums_to_b861_and_verifies_to_ffff()
    {
        // 192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF, total length 0x73 (the widely used worked example).
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Assert.Equal(0xb861, InternetChecksum.Compute(header));
        header[10] = 0xb8;
        header[11] = 0x61;
        Assert.Equal(0xFFFF, InternetChecksum.Fold(InternetChecksum.Sum(header)));
    }

    [Fact]
    public void Sum_matches_the_byte_at_a_time_reference_for_every_length_and_alignment()
    {
        var random = new Random(1071);
        byte[] buffer = new byte[300];
        for (int round = 0; round < 20; round++)
        {
            random.NextBytes(buffer);
            if (round == 0)
            {
                buffer.AsSpan().Fill(0xFF); // the carry-heavy extreme
            }

            for (int offset = 0; offset < 4; offset++)
            {
                for (int length = 0; length <= 260; length++)
                {
                    ReadOnlySpan<byte> data = buffer.AsSpan(offset, length);
                    Assert.Equal(ReferenceSum(data), InternetChecksum.Sum(data));
                }
            }
        }
    }

    [Fact]
    public void Odd_length_pads_the_last_byte_as_a_high_byte()
    {
        Assert.Equal(0xAB00u, InternetChecksum.Sum([0xAB]));
        Assert.Equal(0x0102u + 0x0300u, InternetChecksum.Sum([0x01, 0x02, 0x03]));
    }

    [Fact]
    public void Ipv6_udp_checksum_matches_an_explicit_pseudo_header()
    {
        // RFC 8200 8.1: source, destination, 32-bit upper-layer length, 3 zero bytes, next header 17.
        IPAddress source = IPAddress.Parse("2001:db8::1");
        IPAddress destination = IPAddress.Parse("2001:db8:0:1::abcd");
        byte[] udp = Convert.FromHexString("d43104d2000d0000" + "68656c6c6f"); // ports 54321 -> 1234, length 13, "hello"
        var pseudo = new List<byte>();
        pseudo.AddRange(source.GetAddressBytes());
        pseudo.AddRange(destination.GetAddressBytes());
        pseudo.AddRange([0, 0, 0, (byte)udp.Length, 0, 0, 0, 17]);
        pseudo.AddRange(udp);
        ushort expected = (ushort)~ReferenceSum([.. pseudo]);

        Assert.Equal(expected, InternetChecksum.Udp(source.GetAddressBytes(), destination.GetAddressBytes(), udp));
    }

    [Fact]
    public void Ipv4_udp_checksum_matches_an_explicit_pseudo_header()
    {
        // RFC 768: source, destination, zero, protocol, UDP length.
        byte[] source = [10, 1, 2, 3];
        byte[] destination = [192, 0, 2, 200];
        byte[] udp = Convert.FromHexString("303904d2000b0000" + "616263"); // 12345 -> 1234, length 11, "abc"
        byte[] pseudo = [.. source, .. destination, 0, 17, 0, (byte)udp.Length, .. udp];
        Assert.Equal((ushort)~ReferenceSum(pseudo), InternetChecksum.Udp(source, destination, udp));
    }
}
