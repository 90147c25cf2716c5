using System.Net;
using RtUdp.Core.Capture;
using RtUdp.Daemon.Generators;
using RtUdp.Wire;

namespace RtUdp.Daemon.Tests.Generators;

/// <summary>The schedules' computed times on known inputs (no daemon).</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ScheduleTests
{
    private static List<long> Take(IPacketSchedule schedule, int n)
    {
        var times = new List<long>();
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(i, schedule.Index);
            times.Add(schedule.DueNs);
            schedule.Advance();
        }
        return times;
    }

    [Fact]
    public void Periodic_times_are_exact_multiples_of_the_period()
    {
        var schedule = new PeriodicSchedule(1_000_000_007, 333_333);
        List<long> times = Take(schedule, 1_000_000);
        Assert.Equal(1_000_000_007, times[0]);
        Assert.Equal(1_000_000_007 + (999_999L * 333_333), times[^1]); // no drift after a million packets
    }

    [Fact]
    public void Periodic_rate_change_applies_from_the_next_packet()
    {
        var schedule = new PeriodicSchedule(1000, 100);
        Take(schedule, 5); // 1000..1400 enqueued
        Assert.True(schedule.SetRate(new ScheduleRate.Period(10)));
        Assert.Equal(5, schedule.Index);
        Assert.Equal(1410, schedule.DueNs);
        schedule.Advance();
        Assert.Equal(1420, schedule.DueNs);
        Assert.False(schedule.SetRate(new ScheduleRate.MeanRate(5)));

        var fresh = new PeriodicSchedule(1000, 100);
        Assert.True(fresh.SetRate(new ScheduleRate.Period(7)));
        Assert.Equal([1000, 1007, 1014], Take(fresh, 3));
    }

    [Fact]
    public void Bursts_are_gap_apart_and_burst_period_apart()
    {
        var schedule = new BurstSchedule(10_000, burstSize: 3, gapNs: 5, burstPeriodNs: 1000);
        Assert.Equal([10_000, 10_005, 10_010, 11_000, 11_005, 11_010, 12_000], Take(schedule, 7));
        // In the third burst (one packet enqueued): the next burst starts one new period after this one.
        Assert.True(schedule.SetRate(new ScheduleRate.BurstPeriod(400)));
        Assert.Equal([12_005, 12_010, 12_400, 12_405, 12_410, 12_800], Take2(schedule, 6));

        // At a burst's first packet: the new period counts from the burst before.
        var atEdge = new BurstSchedule(0, burstSize: 2, gapNs: 1, burstPeriodNs: 100);
        Take(atEdge, 2);
        Assert.True(atEdge.SetRate(new ScheduleRate.BurstPeriod(50)));
        Assert.Equal([50, 51, 100], Take2(atEdge, 3));
    }

    private static List<long> Take2(IPacketSchedule schedule, int n)
    {
        var times = new List<long>();
        for (int i = 0; i < n; i++)
        {
            times.Add(schedule.DueNs);
            schedule.Advance();
        }
        return times;
    }

    [Fact]
    public void SplitMix64_matches_the_reference_outputs()
    {
        // The reference implementation's first outputs for seed 0 (as in Java's SplittableRandom and Vigna's splitmix64.c).
        var random = new SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, random.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.Next());
        Assert.Equal(0x06C45D188009454FUL, random.Next());
    }

    [Fact]
    public void Poisson_times_follow_the_seeded_draws_exactly()
    {
        var schedule = new PoissonSchedule(5_000, meanRate: 1000, seed: 7);
        var draws = new SplitMix64(7);
        long expected = 5_000;
        for (int k = 0; k < 1000; k++)
        {
            Assert.Equal(expected, schedule.DueNs);
            schedule.Advance();
            double u = (draws.Next() >> 11) * (1.0 / (1UL << 53));
            expected += (long)Math.Round(-Math.Log(1 - u) * 1e9 / 1000);
        }
        // Same seed, same times; another seed, other times.
        Assert.Equal(Take(new PoissonSchedule(0, 1000, 7), 50), Take(new PoissonSchedule(0, 1000, 7), 50));
        Assert.NotEqual(Take(new PoissonSchedule(0, 1000, 7), 50), Take(new PoissonSchedule(0, 1000, 8), 50));
    }

    [Fact]
    public void Poisson_gaps_have_the_mean_and_spread_of_an_exponential()
    {
        const double Rate = 10_000;
        var schedule = new PoissonSchedule(0, Rate, seed: 12345);
        List<long> times = Take(schedule, 200_001);
        double[] gaps = times.Zip(times.Skip(1), (a, b) => (double)(b - a)).ToArray();
        double mean = gaps.Average();
        double sd = Math.Sqrt(gaps.Select(g => (g - mean) * (g - mean)).Average());
        Assert.InRange(mean, 0.98e5, 1.02e5); // 1 / rate = 100 us; the mean's standard error is 0.22 %
        Assert.InRange(sd / mean, 0.97, 1.03); // an exponential's coefficient of variation is 1
        Assert.InRange(gaps.Count(g => g > mean) / (double)gaps.Length, Math.Exp(-1) - 0.01, Math.Exp(-1) + 0.01);
    }

    [Fact]
    public void Poisson_rate_change_rescales_the_next_gap()
    {
        var a = new PoissonSchedule(0, 1000, seed: 3);
        var b = new PoissonSchedule(0, 1000, seed: 3);
        Take(a, 10);
        Take(b, 10);
        long previous = Take(new PoissonSchedule(0, 1000, 3), 10)[^1];
        long gapBefore = a.DueNs - previous;
        Assert.True(b.SetRate(new ScheduleRate.MeanRate(4000)));
        Assert.InRange(b.DueNs - previous, (gapBefore / 4) - 1, (gapBefore / 4) + 1);
    }

    [Fact]
    public void Replay_keeps_the_file_gaps_and_ends()
    {
        var packets = new List<CapturedDatagram>
        {
            new(1_000_000, 1, [1]),
            new(4_000_000, 1, [2]),
            new(3_500_000, 1, [3]), // earlier than the one before: right after it
            new(9_000_000, 1, [4]),
        };
        var schedule = new ReplaySchedule(100, packets);
        var payloads = new List<byte>();
        var times = new List<long>();
        while (!schedule.Exhausted)
        {
            times.Add(schedule.DueNs);
            payloads.Add(schedule.Payload!.Value.Span[0]);
            schedule.Advance();
        }
        Assert.Equal([100, 3_000_100, 3_000_100, 8_000_100], times);
        Assert.Equal([1, 2, 3, 4], payloads);
        Assert.False(schedule.SetRate(new ScheduleRate.Period(1000)));
    }

    [Fact]
    public void A_handmade_pcap_reads_back_its_udp_payloads_and_times()
    {
        byte[] file = PcapFiles.EthernetUdp([(0, [0xAA]), (2500, [0xBB, 0xCC]), (10_000, [])], port: 6000);
        List<CapturedDatagram> read = CaptureFileReader.Read(file);
        Assert.Equal(3, read.Count); // the TCP frame is skipped
        Assert.Equal([0L, 2_500_000, 10_000_000], read.Select(p => p.TimestampNs - read[0].TimestampNs));
        Assert.Equal([0xBB, 0xCC], read[1].Payload);
        Assert.Empty(read[2].Payload);
        Assert.All(read, p => Assert.Equal(6000, p.DestinationPort));
    }

    [Fact]
    public void The_pcapng_writer_reads_back_with_ns_stamps_and_valid_checksums()
    {
        using var stream = new MemoryStream();
        var writer = new PcapNgWriter(stream, "channels/x", "test");
        var v4 = new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1234);
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 4321);
        writer.WriteUdp(1_700_000_000_123_456_789, v4, new IPEndPoint(IPAddress.Loopback, 9), [1, 2, 3]);
        writer.WriteUdp(1_700_000_000_123_456_790, v6, new IPEndPoint(IPAddress.IPv6Loopback, 9), [4, 5, 6, 7, 8]);
        writer.Flush();
        byte[] file = stream.ToArray();
        List<CapturedDatagram> read = CaptureFileReader.Read(file);
        Assert.Equal([1_700_000_000_123_456_789, 1_700_000_000_123_456_790], read.Select(p => p.TimestampNs));
        Assert.Equal([4, 5, 6, 7, 8], read[1].Payload);
        Assert.Equal(file.Length, writer.BytesWritten);

        // The synthesized headers' checksums verify (the one's-complement sum over them is 0xFFFF).
        Span<byte> frame = stackalloc byte[64];
        int length = UdpFrame.Build(frame, v4, new IPEndPoint(IPAddress.Loopback, 9), [1, 2, 3]);
        Assert.Equal(20 + 8 + 3, length);
        Assert.Equal(0xFFFF, OnesComplementSum(frame[..20]));
        byte[] pseudo = [.. frame.Slice(12, 8), 0, 17, 0, 11, .. frame[20..length]];
        Assert.Equal(0xFFFF, OnesComplementSum(pseudo));
    }

    private static int OnesComplementSum(ReadOnlySpan<byte> bytes)
    {
        long sum = 0;
        for (int i = 0; i < bytes.Length; i += 2)
        {
            sum += (bytes[i] << 8) | (i + 1 < bytes.Length ? bytes[i + 1] : 0);
        }
        while (sum >> 16 != 0)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (int)sum;
    }
}
