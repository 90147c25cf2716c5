using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using RtUdp.Daemon.Generators;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Generators;

/// <summary>GeneratorService against the real daemon: packets on a real loopback socket, their RX stamps compared with the schedule.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GeneratorTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);
    private readonly GeneratorService.GeneratorServiceClient _generators = new(daemon.Unix);

    /// <summary>How late a packet may typically reach the receiver on a loaded 2-CPU host (send error + loopback + wake-up): the median's bound.</summary>
    private const long LateSlackNs = 20_000_000;

    /// <summary>
    /// How late any one packet may be: this shared machine stalls every thread for 20-40 ms now and then
    /// (other test assemblies run alongside). A schedule bug shows as seconds, or in the median.
    /// </summary>
    private const long StallSlackNs = 200_000_000;

    /// <summary>How early an RX stamp may look (stamps taken in other clocks, converted to CLOCK_MONOTONIC).</summary>
    private const long EarlySlackNs = 50_000;

    private static Duration Ms(double ms) => Duration.FromTimeSpan(TimeSpan.FromMilliseconds(ms));

    private static PayloadSpec Indexed(int size = 32) => new() { Size = size, IndexPrefix = true, Pattern = ByteString.CopyFromUtf8("rtudp") };

    private async Task<(Channel Rx, Channel Tx)> PairAsync(string prefix)
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId(prefix + "-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId(prefix + "-tx"), rx.BoundLocal);
        return (rx, tx);
    }

    /// <summary>Receives until <paramref name="count"/> packets came (bounded), then makes sure no more come for a while.</summary>
    private async Task<List<ReceivedPacket>> ReceiveAsync(Channel rx, int count, TimeSpan? quiet = null, TimeSpan? timeout = null)
    {
        var packets = new List<ReceivedPacket>();
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (packets.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"received {packets.Count} of {count} packets");
            ReceiveResponse batch = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 1000, Timeout = Ms(500) });
            packets.AddRange(batch.Packets);
        }
        ReceiveResponse extra = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 1000, Timeout = Duration.FromTimeSpan(quiet ?? TimeSpan.FromMilliseconds(200)) });
        packets.AddRange(extra.Packets);
        return packets;
    }

    private static long IndexOf(ReceivedPacket p) => BinaryPrimitives.ReadInt64BigEndian(p.Payload.Span);

    private async Task<Generator> WaitFinishedAsync(string name, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            Generator g = (await _generators.GetGeneratorAsync(new GetGeneratorRequest { Name = name })).Generator;
            if (g.State != GeneratorState.Running)
            {
                return g;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{name} still running: {g}");
            await Task.Delay(10);
        }
    }

    private static void AssertOnSchedule(IReadOnlyList<ReceivedPacket> packets, Func<long, long> due) =>
        AssertLateness([.. packets.Select(p => p.MonotonicNs - due(IndexOf(p)))]);

    /// <summary>None early, none later than a stall, and the median within the usual slack.</summary>
    private static void AssertLateness(IReadOnlyList<long> lateNs)
    {
        Assert.NotEmpty(lateNs);
        foreach (long late in lateNs)
        {
            Assert.InRange(late, -EarlySlackNs, StallSlackNs);
        }
        long median = lateNs.Order().ElementAt(lateNs.Count / 2);
        Assert.True(median <= LateSlackNs, $"median lateness {median} ns > {LateSlackNs} ns: [{string.Join(", ", lateNs)}]");
    }

    [Fact]
    public async Task Periodic_generator_sends_exactly_count_packets_at_its_period()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-periodic");
        const long PeriodNs = 2_000_000;
        Generator started = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            GeneratorId = "periodic",
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(2) }, Payload = Indexed(), Count = 100, StartDelay = Ms(50) },
        })).Generator;
        Assert.Equal($"{tx.Name}/generators/periodic", started.Name);
        Assert.Equal(GeneratorState.Running, started.State);

        List<ReceivedPacket> packets = await ReceiveAsync(rx, 100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), packets.Select(IndexOf));
        Assert.All(packets, p => Assert.Equal(32, p.Payload.Length));
        Generator done = await WaitFinishedAsync(started.Name);
        Assert.Equal(GeneratorState.Completed, done.State);
        Assert.Equal(100, done.Counters.Generated);
        Assert.Equal(100, done.Counters.Enqueued);

        // Every packet arrived at start + k * period, within the channel's own send error (+ delivery).
        AssertOnSchedule(packets, k => started.StartMonotonicNs + (k * PeriodNs));
        Histogram error = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError })).Histogram;
        Assert.Equal(100, error.TotalCount);
        double meanGap = (packets[^1].MonotonicNs - packets[0].MonotonicNs) / 99.0;
        Assert.InRange(meanGap, PeriodNs - ((error.MaxNs - error.MinNs) / 99.0) - (LateSlackNs / 99.0), PeriodNs + ((error.MaxNs - error.MinNs) / 99.0) + (LateSlackNs / 99.0));
        V1.ChannelStats stats = await _api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 100);
        Assert.Equal(100, stats.Tx.Enqueued);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Duration_stops_before_the_first_packet_due_after_it()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-duration");
        Generator started = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) }, Payload = Indexed(), Duration = Ms(30), StartDelay = Ms(20) },
        })).Generator;
        Assert.StartsWith($"{tx.Name}/generators/gen-", started.Name, StringComparison.Ordinal);
        List<ReceivedPacket> packets = await ReceiveAsync(rx, 30, quiet: TimeSpan.FromMilliseconds(300));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), packets.Select(IndexOf)); // t_k < start + 30 ms: k = 0..29
        Generator done = await WaitFinishedAsync(started.Name);
        Assert.Equal(GeneratorState.Completed, done.State);
        Assert.Equal(30, done.Counters.Enqueued);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Rate_change_applies_from_the_next_packet_and_stop_lets_the_queued_ones_go()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-rate");
        Generator started = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(5) }, Payload = Indexed(), Lookahead = Ms(10) },
        })).Generator;
        List<ReceivedPacket> before = await ReceiveAsync(rx, 10, quiet: TimeSpan.Zero);
        UpdateGeneratorResponse update = await _generators.UpdateGeneratorAsync(new UpdateGeneratorRequest { Name = started.Name, Period = Ms(1) });
        long j = update.FirstIndex;
        Assert.True(j >= 10);
        // The packet before j kept the old period; j is one new period after it.
        Assert.Equal(started.StartMonotonicNs + ((j - 1) * 5_000_000) + 1_000_000, update.FirstDueMonotonicNs);
        List<ReceivedPacket> after = await ReceiveAsync(rx, (int)(j + 60 - before.Count), quiet: TimeSpan.Zero);
        List<ReceivedPacket> all = [.. before, .. after];
        Assert.Equal(Enumerable.Range(0, all.Count).Select(i => (long)i), all.Select(IndexOf));
        AssertOnSchedule(all, k => k < j ? started.StartMonotonicNs + (k * 5_000_000) : update.FirstDueMonotonicNs + ((k - j) * 1_000_000));

        // Stop with a long look-ahead's worth queued: nothing is enqueued after the answer, and every
        // enqueued packet is still sent (counted as queued_at_stop while not yet due).
        UpdateGeneratorResponse slow = await _generators.UpdateGeneratorAsync(new UpdateGeneratorRequest { Name = started.Name, Period = Ms(4) });
        Assert.True(slow.FirstIndex > j);
        Generator stopped = (await _generators.StopGeneratorAsync(new StopGeneratorRequest { Name = started.Name })).Generator;
        Assert.Equal(GeneratorState.Stopped, stopped.State);
        Assert.Equal(stopped.Counters.Generated, stopped.Counters.Enqueued);
        Assert.InRange(stopped.QueuedAtStop, 0, 11); // at most the 10 ms window (still at 1 ms: queued before the change)
        Generator later = (await _generators.GetGeneratorAsync(new GetGeneratorRequest { Name = started.Name })).Generator;
        Assert.Equal(stopped.Counters.Enqueued, later.Counters.Enqueued);
        List<ReceivedPacket> rest = await ReceiveAsync(rx, (int)(stopped.Counters.Enqueued - all.Count), quiet: TimeSpan.FromMilliseconds(300));
        Assert.Equal(stopped.Counters.Enqueued, all.Count + rest.Count);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Bursts_and_seeded_poisson_follow_their_computed_times()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-burst");
        Generator burst = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec
            {
                Burst = new V1.BurstSchedule { BurstSize = 5, Gap = Ms(0.2), BurstPeriod = Ms(10) },
                Payload = Indexed(),
                Count = 40,
                StartDelay = Ms(30),
            },
        })).Generator;
        List<ReceivedPacket> packets = await ReceiveAsync(rx, 40);
        Assert.Equal(40, packets.Count);
        AssertOnSchedule(packets, k => burst.StartMonotonicNs + (k / 5 * 10_000_000) + (k % 5 * 200_000));
        Assert.Equal(40, (await WaitFinishedAsync(burst.Name)).Counters.Enqueued);

        const double Rate = 2000;
        Generator poisson = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Poisson = new V1.PoissonSchedule { MeanRate = Rate, Seed = 42 }, Payload = Indexed(), Count = 600, StartDelay = Ms(30) },
        })).Generator;
        packets = await ReceiveAsync(rx, 600);
        var expected = new RtUdp.Daemon.Generators.PoissonSchedule(poisson.StartMonotonicNs, Rate, 42);
        var due = new List<long>();
        for (int k = 0; k < 600; k++)
        {
            due.Add(expected.DueNs);
            expected.Advance();
        }
        AssertOnSchedule(packets, k => due[(int)k]);
        // Statistically a Poisson stream: mean gap 1 / rate (standard error 4 % over 600 gaps; 20 % allowed).
        double meanGap = (packets[^1].MonotonicNs - packets[0].MonotonicNs) / 599.0;
        Assert.InRange(meanGap, 0.8e9 / Rate, 1.2e9 / Rate);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Replay_sends_a_pcap_files_payloads_with_its_gaps()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-replay");
        long[] micros = [0, 3_000, 10_000, 11_000, 25_000, 25_100];
        Directory.CreateDirectory(daemon.CaptureDirectory);
        string file = $"replay-{Guid.NewGuid():N}.pcap";
        await File.WriteAllBytesAsync(Path.Combine(daemon.CaptureDirectory, file),
            PcapFiles.EthernetUdp(micros.Select((m, i) => (m, new byte[] { (byte)i, 0xEE, (byte)(m & 0xFF) })).ToList()));
        Generator replay = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Replay = new V1.ReplaySchedule { FileName = file }, StartDelay = Ms(30) },
        })).Generator;
        List<ReceivedPacket> packets = await ReceiveAsync(rx, micros.Length);
        Assert.Equal(micros.Length, packets.Count);
        for (int i = 0; i < micros.Length; i++)
        {
            Assert.Equal(new byte[] { (byte)i, 0xEE, (byte)(micros[i] & 0xFF) }, packets[i].Payload.ToByteArray());
        }
        AssertLateness([.. Enumerable.Range(0, micros.Length).Select(i => packets[i].MonotonicNs - (replay.StartMonotonicNs + (micros[i] * 1000)))]);
        Generator done = await WaitFinishedAsync(replay.Name);
        Assert.Equal(GeneratorState.Completed, done.State);
        Assert.Equal(micros.Length, done.Counters.Enqueued);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Absolute_start_times_in_tai_and_monotonic_are_honoured()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-abs");
        ClockOffset tai = ClockSampler.Sample(Libc.CLOCK_TAI);
        long startMono = Libc.MonotonicNow() + 200_000_000;
        Generator byTai = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) }, Payload = Indexed(), Count = 3, StartTaiNs = tai.FromMonotonic(startMono) },
        })).Generator;
        // The daemon converted TAI through the wall clock and the kernel's TAI offset: the same instant.
        Assert.InRange(byTai.StartMonotonicNs - startMono, -1_000_000, 1_000_000);
        List<ReceivedPacket> packets = await ReceiveAsync(rx, 3);
        AssertOnSchedule(packets, k => byTai.StartMonotonicNs + (k * 1_000_000));

        long at = Libc.MonotonicNow() + 150_000_000;
        Generator byMono = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) }, Payload = Indexed(), Count = 2, StartMonotonicNs = at },
        })).Generator;
        Assert.Equal(at, byMono.StartMonotonicNs);
        packets = await ReceiveAsync(rx, 2);
        AssertOnSchedule(packets, k => at + (k * 1_000_000));
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Bad_specs_and_names_get_clear_statuses()
    {
        (Channel rx, Channel tx) = await PairAsync("gen-bad");
        Task Start(GeneratorSpec spec, string parent = "", string id = "") =>
            _generators.StartGeneratorAsync(new StartGeneratorRequest { Parent = parent.Length > 0 ? parent : tx.Name, GeneratorId = id, Spec = spec }).ResponseAsync;

        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec()), "spec.schedule");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(0) }, Count = -1 }), "spec.periodic.period", "spec.count");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec
        {
            Burst = new V1.BurstSchedule { BurstSize = 0, BurstPeriod = Ms(1) },
            Payload = new PayloadSpec { Size = 4, IndexPrefix = true },
            Lookahead = Ms(5000),
        }), "spec.burst.burst_size", "spec.payload.index_prefix", "spec.lookahead");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Burst = new V1.BurstSchedule { BurstSize = 10, Gap = Ms(1), BurstPeriod = Ms(5) } }), "spec.burst.gap");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Poisson = new V1.PoissonSchedule { MeanRate = 0 }, Payload = new PayloadSpec { Size = 5000 } }), "spec.poisson.mean_rate", "spec.payload.size");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Replay = new V1.ReplaySchedule { FileName = "../etc/passwd" } }), "spec.replay.file_name");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Replay = new V1.ReplaySchedule { FileName = "missing.pcap" } }), "spec.replay.file_name");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) }, StartMonotonicNs = Libc.MonotonicNow() - 1_000_000_000 }), "spec.start_monotonic_ns");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) }, StartDelay = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) }), "spec.start_delay");
        await RpcAssert.InvalidAsync(() => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) } }, id: "Bad_Id"), "generator_id");

        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) } }, parent: "channels/no-such-channel"));
        Google.Rpc.Status direction = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) } }, parent: rx.Name));
        Assert.Contains("does not send", direction.Message, StringComparison.Ordinal);
        await _api.Channels.StopChannelAsync(new StopChannelRequest { Name = tx.Name });
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) } }));
        await _api.Channels.StartChannelAsync(new StartChannelRequest { Name = tx.Name });

        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _generators.GetGeneratorAsync(new GetGeneratorRequest { Name = $"{tx.Name}/generators/nope" }).ResponseAsync);
        await RpcAssert.InvalidAsync(() => _generators.GetGeneratorAsync(new GetGeneratorRequest { Name = "generators/nope" }).ResponseAsync, "name");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _generators.StopGeneratorAsync(new StopGeneratorRequest { Name = $"{tx.Name}/generators/nope" }).ResponseAsync);

        Generator running = (await _generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            GeneratorId = "dup",
            Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(10) }, Count = 1000 },
        })).Generator;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => Start(new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Ms(1) } }, id: "dup"));
        await RpcAssert.InvalidAsync(() => _generators.UpdateGeneratorAsync(new UpdateGeneratorRequest { Name = running.Name, MeanRate = 100 }).ResponseAsync, "mean_rate");
        await RpcAssert.InvalidAsync(() => _generators.UpdateGeneratorAsync(new UpdateGeneratorRequest { Name = running.Name }).ResponseAsync, "rate");
        ListGeneratorsResponse list = await _generators.ListGeneratorsAsync(new ListGeneratorsRequest { Parent = tx.Name });
        Assert.Equal([running.Name], list.Generators.Select(g => g.Name));

        // Deleting the channel ends its generator (FAILED, said why); it stays listed with its counters.
        await _api.DeleteAsync(tx, rx);
        Generator ended = await WaitFinishedAsync(running.Name, TimeSpan.FromSeconds(5));
        Assert.Equal(GeneratorState.Failed, ended.State);
        Assert.Contains("deleted", ended.Error, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _generators.UpdateGeneratorAsync(new UpdateGeneratorRequest { Name = running.Name, Period = Ms(1) }).ResponseAsync);
    }
}
