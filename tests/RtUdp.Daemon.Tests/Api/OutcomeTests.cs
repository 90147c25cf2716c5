using Google.Protobuf;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.Daemon.Tests.Metrics;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>WatchOutcomes against the real daemon: every packet's fate, once, to whoever asks; a slow subscriber is told what it missed.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OutcomeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Subscribes and waits until the daemon has the subscription (its empty first message).</summary>
    private static async Task<AsyncServerStreamingCall<WatchOutcomesResponse>> WatchAsync(PacketService.PacketServiceClient packets, Channel tx, bool onlyMine = false, bool onlyAbnormal = false, int maxBatch = 0)
    {
        AsyncServerStreamingCall<WatchOutcomesResponse> call = packets.WatchOutcomes(new WatchOutcomesRequest { Channel = tx.Name, OnlyMine = onlyMine, OnlyAbnormal = onlyAbnormal, MaxBatch = maxBatch });
        // The first message is empty: subscribed. A refusal throws here.
        try
        {
            Assert.True(await call.ResponseStream.MoveNext(), "the stream ended before it said it was subscribed");
            Assert.Empty(call.ResponseStream.Current.Records);
        }
        catch
        {
            call.Dispose();
            throw;
        }
        return call;
    }

    /// <summary>Reads records until <paramref name="done"/> holds for what was read (bounded).</summary>
    private static async Task<List<OutcomeRecord>> ReadUntilAsync(AsyncServerStreamingCall<WatchOutcomesResponse> call, Func<List<OutcomeRecord>, bool> done)
    {
        var records = new List<OutcomeRecord>();
        using var timeout = new CancellationTokenSource(Bound);
        while (!done(records))
        {
            Assert.True(await call.ResponseStream.MoveNext(timeout.Token), $"the stream ended after {records.Count} records");
            records.AddRange(call.ResponseStream.Current.Records);
        }
        return records;
    }

    private static IEnumerable<PacketOutcome> Outcomes(IEnumerable<OutcomeRecord> records) =>
        records.Where(r => r.RecordCase == OutcomeRecord.RecordOneofCase.Outcome).Select(r => r.Outcome);

    private static OutgoingPacket Packet(long id, long dueNs) => new() { Payload = ByteString.CopyFrom(BitConverter.GetBytes(id)), PacketId = id, MonotonicNs = dueNs };

    [Fact]
    public async Task Every_packet_id_comes_back_once_chosen_or_assigned_with_its_stamps()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("oc-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("oc-tx"), rx.BoundLocal);
        using AsyncServerStreamingCall<WatchOutcomesResponse> watch = await WatchAsync(api.Packets, tx);

        long start = Libc.MonotonicNow() + 300_000_000; // ahead of the cold first call's way to the engine
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < 300; i++)
        {
            // 1..150 chosen by the client, the rest assigned by rtudpd.
            request.Packets.Add(Packet(i < 150 ? i + 1 : 0, start + (i * 50_000L)));
        }
        SendResponse sent = await api.Packets.SendAsync(request);
        Assert.Equal(RtUdp.Daemon.Api.ChannelEntry.FirstAssignedPacketId, sent.AssignedPacketIds.First);
        Assert.Equal(sent.AssignedPacketIds.First + 149, sent.AssignedPacketIds.Last);
        // A second request gets the next range.
        SendResponse more = await api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { Packet(0, start + 20_000_000) } });
        Assert.Equal(sent.AssignedPacketIds.Last + 1, more.AssignedPacketIds.First);

        List<PacketOutcome> outcomes = [.. Outcomes(await ReadUntilAsync(watch, r => Outcomes(r).Count() >= 301))];
        long[] expected = [.. Enumerable.Range(1, 150).Select(i => (long)i), .. Enumerable.Range(0, 151).Select(i => sent.AssignedPacketIds.First + i)];
        Assert.Equal(expected.Order(), outcomes.Select(o => o.PacketId).Order());
        Assert.DoesNotContain(await ReadUntilAsync(watch, _ => true), _ => true);
        foreach (PacketOutcome o in outcomes)
        {
            Assert.True(o.Fate is PacketFate.Sent or PacketFate.SentLate, o.ToString());
            Assert.True(o.ArrivedMonotonicNs > 0 && o.ArrivedMonotonicNs <= o.SentMonotonicNs, o.ToString());
            Assert.False(o.ArrivedLate, o.ToString());
            Assert.True(o.SentMonotonicNs >= o.DueMonotonicNs, o.ToString());
            // Loopback stamps in software: the send error is the kernel's SND stamp against the schedule.
            Assert.Equal(StampSource.Software, o.StampSource);
            Assert.Equal(ClockDomain.Realtime, o.ClockDomain);
            Assert.Equal(o.SoftwareStampMonotonicNs - o.DueMonotonicNs, o.SendErrorNs);
            Assert.InRange(o.SoftwareStampMonotonicNs, o.SentMonotonicNs - 1_000, o.SentMonotonicNs + 1_000_000_000);
        }
        // In the order the engine finished them: by due time here.
        Assert.Equal(outcomes.Select(o => o.DueMonotonicNs).Order(), outcomes.Select(o => o.DueMonotonicNs));
        Exposition metrics = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(301, metrics.Value("rtudp_outcomes_delivered_total", ("channel", tx.Name["channels/".Length..])));
    }

    [Fact]
    public async Task Late_drops_and_late_arrivals_come_back_abnormal_with_their_reason()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("late-rx"));
        // A tolerance this loaded machine's SCHED_OTHER worker keeps (100 us it does not), far below the 50 ms of the late ones.
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("late-tx"), rx.BoundLocal, configure: c =>
        {
            c.LatePolicy = LatePolicy.Drop;
            c.LateToleranceNs = 20_000_000;
        });
        using AsyncServerStreamingCall<WatchOutcomesResponse> abnormal = await WatchAsync(api.Packets, tx, onlyAbnormal: true);
        using AsyncServerStreamingCall<WatchOutcomesResponse> all = await WatchAsync(api.Packets, tx);

        long now = Libc.MonotonicNow();
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < 10; i++)
        {
            request.Packets.Add(Packet(i + 1, now - 50_000_000)); // 50 ms in the past: late before the engine has them
            request.Packets.Add(Packet(i + 101, now + 300_000_000));
        }
        request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFromUtf8("asap"), PacketId = 200 }); // no time: never "arrived late"
        await api.Packets.SendAsync(request);

        List<PacketOutcome> every = [.. Outcomes(await ReadUntilAsync(all, r => Outcomes(r).Count() >= 21))];
        // The packet without a time may show as sent late too (its time is when rtudpd took it), never as arrived late.
        List<PacketOutcome> late = [.. Outcomes(await ReadUntilAsync(abnormal, r => Outcomes(r).Count(o => o.PacketId <= 10) >= 10)).Where(o => o.PacketId <= 10)];
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), late.Select(o => o.PacketId).Order());
        Assert.False(every.Single(o => o.PacketId == 200).ArrivedLate);
        Assert.All(late, o =>
        {
            Assert.Equal(PacketFate.DroppedLate, o.Fate);
            Assert.True(o.ArrivedLate, o.ToString());
            Assert.True(o.ArrivedMonotonicNs - o.DueMonotonicNs >= 50_000_000, o.ToString());
            Assert.Equal(0, o.SentMonotonicNs);
        });
        Assert.All(every.Where(o => o.PacketId is > 100 and <= 110), o => Assert.True(o.Fate is PacketFate.Sent or PacketFate.SentLate && !o.ArrivedLate, o.ToString()));
        V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.DroppedLate == 10 && s.Tx.Sent == 11);
        Assert.Equal(10, stats.Tx.ArrivedLate);
    }

    /// <summary>
    /// The first message means subscribed: a packet the client sends the moment it has it (one dropped at once as
    /// late, one sent at once) has its outcome in the stream, whether the subscription started the channel's pump
    /// (each round's subscribers leave, so the next round's first one starts a new pump as the old one stops) or
    /// joined a running one. Before the pump took a subscriber in before its first message, such outcomes could be
    /// drained for the subscribers before it only, or never be asked of the engine.
    /// </summary>
    [Fact]
    public async Task A_packet_sent_as_soon_as_the_stream_says_subscribed_has_its_outcome_in_it()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("sub-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("sub-tx"), rx.BoundLocal, configure: c =>
        {
            c.LatePolicy = LatePolicy.Drop;
            c.LateToleranceNs = 20_000_000;
        });
        const int Rounds = 25;
        for (int round = 0; round < Rounds; round++)
        {
            long late = (round * 2) + 1, asap = late + 1;
            using AsyncServerStreamingCall<WatchOutcomesResponse> starting = await WatchAsync(api.Packets, tx, onlyAbnormal: round % 2 == 1);
            await api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { Packet(late, Libc.MonotonicNow() - 50_000_000) } });
            using AsyncServerStreamingCall<WatchOutcomesResponse> joining = await WatchAsync(api.Packets, tx);
            await api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("asap"), PacketId = asap } } });

            // One that watches all outcomes also gets the packet sent after the second subscriber joined.
            bool all = round % 2 == 0;
            List<PacketOutcome> first = [.. Outcomes(await ReadUntilAsync(starting, r => Outcomes(r).Any(o => o.PacketId == late) && (!all || Outcomes(r).Any(o => o.PacketId == asap))))];
            Assert.Equal(PacketFate.DroppedLate, first.Single(o => o.PacketId == late).Fate);
            List<PacketOutcome> second = [.. Outcomes(await ReadUntilAsync(joining, r => Outcomes(r).Any(o => o.PacketId == asap)))];
            PacketOutcome sent = second.Single(o => o.PacketId == asap);
            Assert.True(sent.Fate is PacketFate.Sent or PacketFate.SentLate, $"round {round}: {sent}");
        }
        V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.DroppedLate == Rounds && s.Tx.Sent == Rounds);
        Assert.Equal(Rounds, stats.Tx.ArrivedLate);
    }

    [Fact]
    public async Task Only_mine_gives_each_client_its_own_packets()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Channel rx = await daemon.Unix.CreateReceiverAsync(Clients.UniqueId("mine-rx"));
        Channel tx = await daemon.Unix.CreateSenderAsync(Clients.UniqueId("mine-tx"), rx.BoundLocal);
        // Two clients: the unix socket's uid and TCP's 127.0.0.1.
        using AsyncServerStreamingCall<WatchOutcomesResponse> unixMine = await WatchAsync(daemon.Unix.Packets, tx, onlyMine: true);
        using AsyncServerStreamingCall<WatchOutcomesResponse> tcpMine = await WatchAsync(daemon.Tcp.Packets, tx, onlyMine: true);
        long due = Libc.MonotonicNow() + 10_000_000;
        await daemon.Unix.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { Packet(1, due), Packet(2, due) } });
        await daemon.Tcp.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { Packet(3, due), Packet(4, due), Packet(5, due) } });

        List<PacketOutcome> unix = [.. Outcomes(await ReadUntilAsync(unixMine, r => Outcomes(r).Count() >= 2))];
        List<PacketOutcome> tcp = [.. Outcomes(await ReadUntilAsync(tcpMine, r => Outcomes(r).Count() >= 3))];
        await daemon.Unix.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 5);
        Assert.Equal([1L, 2L], unix.Select(o => o.PacketId).Order());
        Assert.Equal([3L, 4L, 5L], tcp.Select(o => o.PacketId).Order());
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_told_what_it_missed_while_another_gets_every_outcome()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(new Dictionary<string, string> { ["Api:OutcomeQueue"] = "5000" });
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("gap-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("gap-tx"), rx.BoundLocal, configure: c => c.Capacity = 8192);
        using AsyncServerStreamingCall<WatchOutcomesResponse> stalled = await WatchAsync(api.Packets, tx, maxBatch: 1);
        using AsyncServerStreamingCall<WatchOutcomesResponse> reader = await WatchAsync(new PacketService.PacketServiceClient(daemon.NewUnixChannel()), tx, maxBatch: 1000);

        const int Count = 30_000;
        var everything = new List<OutcomeRecord>();
        long id = 0;
        while (id < Count)
        {
            var request = new SendRequest { Channel = tx.Name };
            for (int i = 0; i < 1000; i++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[64]), PacketId = ++id });
            }
            await api.Packets.SendAsync(request);
            await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == id, Bound);
            // The reader keeps up (its queue holds 5 batches): it reads each batch's outcomes before the next is sent,
            // however slowly this machine runs its stream. A gap would end the wait at once instead of at the bound.
            long wanted = id - Outcomes(everything).Count();
            everything.AddRange(await ReadUntilAsync(reader, r => r.Any(x => x.RecordCase == OutcomeRecord.RecordOneofCase.Gap) || Outcomes(r).Count() >= wanted));
            Assert.DoesNotContain(everything, r => r.RecordCase == OutcomeRecord.RecordOneofCase.Gap);
        }
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), Outcomes(everything).Select(o => o.PacketId));

        // Now the stalled one reads: some outcomes, a gap for those it missed, and each packet accounted once.
        List<OutcomeRecord> late = await ReadUntilAsync(stalled, r => Outcomes(r).Count() + r.Where(x => x.RecordCase == OutcomeRecord.RecordOneofCase.Gap).Sum(x => x.Gap.Missed) >= Count);
        OutcomeRecord[] gaps = [.. late.Where(r => r.RecordCase == OutcomeRecord.RecordOneofCase.Gap)];
        Assert.NotEmpty(gaps);
        Assert.All(gaps, g => Assert.Equal("subscriber behind", g.Gap.Reason));
        Assert.Equal(Count, Outcomes(late).Count() + gaps.Sum(g => g.Gap.Missed));
        long[] got = [.. Outcomes(late).Select(o => o.PacketId)];
        Assert.Equal(got.Order(), got);
        Exposition metrics = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(gaps.Sum(g => g.Gap.Missed), metrics.Value("rtudp_outcomes_missed_total", ("channel", tx.Name["channels/".Length..])));
    }

    [Fact]
    public async Task Bad_requests_name_the_field()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("bad-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("bad-tx"), rx.BoundLocal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => WatchAsync(api.Packets, new Channel { Name = "channels/nope" }));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => WatchAsync(api.Packets, rx));
        await RpcAssert.InvalidAsync(() => WatchAsync(api.Packets, tx, maxBatch: 10_001), "max_batch");
        await RpcAssert.InvalidAsync(() => api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { Packet(-1, 0), Packet(1L << 62, 0) } }).ResponseAsync, "packets[0].packet_id", "packets[1].packet_id");
    }
}
