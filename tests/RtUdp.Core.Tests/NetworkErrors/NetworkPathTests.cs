using System.Globalization;
using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Integration;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.NetworkErrors;

/// <summary>
/// Network errors on a real path (a veth pair between two namespaces, <see cref="NetworkPathFixture"/>): a
/// closed port answering ICMP port unreachable, a neighbour that never resolves, a route that refuses every
/// send, a link MTU below the packet with and without DF. Every packet is sent or dropped with its own error,
/// each ICMP error is matched to the packet it quotes, and a healthy channel beside a failing one keeps its
/// schedule. Needs root (skips otherwise, saying so).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class NetworkPathTests(NetworkPathFixture pair, ITestOutputHelper output) : IClassFixture<NetworkPathFixture>
{
    private const int EMSGSIZE = 90;
    private const int EHOSTUNREACH = 113;
    private const int ENETUNREACH = 101;
    private const int DiscardPort = 9; // nobody listens on it in B
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private bool Skipped()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return true;
        }
        return false;
    }

    private static ChannelConfig Sender(EngineFixture engine, string name, IPAddress local, IPEndPoint remote, ChannelFlags flags, int maxPayload = 2048) => new()
    {
        Id = engine.NextId(),
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(local, 0),
        Remote = remote,
        Capacity = 2048,
        MaxPayload = maxPayload,
        Flags = flags,
        // One datagram per packet: these tests match each ICMP error to its datagram, and a GSO train reaching
        // its peer uncut (loopback, veth) draws one error for all its packets (docs/gso.md).
        Gso = GsoMode.Off,
    };

    private static ChannelConfig Receiver(EngineFixture engine, string name, IPAddress local) => new()
    {
        Id = engine.NextId(),
        Name = name,
        Direction = ChannelDirection.Receive,
        Local = new IPEndPoint(local, 0),
        Capacity = 4096,
        MaxPayload = 2048,
    };

    private static ChannelHandle Start(EngineFixture engine, ChannelConfig config)
    {
        ChannelHandle channel = engine.Client.CreateChannel(config);
        Assert.Equal(ChannelState.Running, engine.Client.StartChannel(channel.Id));
        return channel;
    }

    /// <summary>Reads a channel's report ring into a growing list.</summary>
    private sealed class Reports(ChannelHandle channel)
    {
        private readonly TxReportRecord[] _buffer = new TxReportRecord[1024];

        public List<TxReportRecord> All { get; } = [];

        public void Drain()
        {
            int read;
            while ((read = channel.DrainRecords(_buffer)) > 0)
            {
                All.AddRange(_buffer.AsSpan(0, read).ToArray());
            }
        }

        public IEnumerable<TxNetworkErrorReport> NetworkErrors => All.Where(r => r.IsNetworkError).Select(r => r.NetworkError);

        public IEnumerable<TxReport> Packets => All.Where(r => !r.IsNetworkError).Select(r => r.Packet);
    }

    [Fact]
    public void A_closed_port_across_a_veth_refuses_every_packet_and_each_refusal_is_matched_to_its_packet()
    {
        if (Skipped())
        {
            return;
        }
        EngineFixture a = pair.EngineA!;
        using ChannelHandle tx = Start(a, Sender(a, "np-refused", pair.AddressA, new IPEndPoint(pair.AddressB, DiscardPort), ChannelFlags.Sequenced));
        tx.RequestReports();
        var reports = new Reports(tx);

        // 300 packets 1 ms apart (each refusal is back before the next send), then 200 packets 20 us apart
        // (refusals come back while the burst is still going out).
        const int paced = 300, burst = 200, packets = paced + burst;
        byte[] payload = new byte[64];
        long start = Libc.MonotonicNow() + 5_000_000;
        for (int i = 0; i < paced; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 1_000_000L), packetId: 1 + i));
        }
        long burstStart = start + ((paced + 5) * 1_000_000L);
        for (int i = 0; i < burst; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, burstStart + (i * 20_000L), packetId: 1 + paced + i));
        }

        Wait.Until(() =>
        {
            reports.Drain();
            ChannelStats s = tx.ReadStats();
            return s.Pending == 0 && s[ChannelCounter.NetworkRefused] + s[ChannelCounter.NetworkOther] >= packets;
        }, Timeout, () => $"all sent and refused: {Describe(tx.ReadStats())}\n{a.Log}");
        reports.Drain();
        ChannelStats stats = tx.ReadStats();
        output.WriteLine(Describe(stats));

        Assert.Equal(packets, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats[ChannelCounter.DroppedError]);
        Assert.Equal(0, stats[ChannelCounter.DroppedAfterResends]);
        Assert.Equal(packets, stats[ChannelCounter.NetworkRefused]);
        Assert.Equal(packets, stats[ChannelCounter.NetworkErrorsExact]);
        Assert.Equal(0, stats[ChannelCounter.NetworkErrorsByOrder] + stats[ChannelCounter.NetworkErrorsUnattributed]);
        Accounting.AssertBalanced(tx);

        TxNetworkErrorReport[] errors = reports.NetworkErrors.ToArray();
        Assert.Equal(Enumerable.Range(1, packets).Select(i => (long)i), errors.Select(e => e.PacketId).Order());
        foreach (TxNetworkErrorReport e in errors)
        {
            Assert.Equal((int)NetworkErrorKind.Refused, e.Kind);
            Assert.Equal((int)NetworkErrorAttribution.Exact, e.Attribution);
            Assert.Equal(Errno.ECONNREFUSED, e.Errno);
            Assert.Equal((3, 3), (e.IcmpType, e.IcmpCode)); // destination unreachable, port unreachable
            Assert.Equal(pair.AddressB, e.Offender.ToIPEndPoint()!.Address);
        }
        Assert.All(reports.Packets, p => Assert.True((TxOutcome)p.Outcome is TxOutcome.Sent or TxOutcome.SentLate, $"packet {p.PacketId}: {(TxOutcome)p.Outcome}"));
        a.Client.DeleteChannel(tx.Id);
    }

    [Fact]
    public void A_neighbour_that_never_resolves_reports_host_unreachable_per_packet_and_a_healthy_channel_keeps_its_schedule()
    {
        if (Skipped())
        {
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = Start(b, Receiver(b, "np-healthy-rx", pair.AddressB));
        using ChannelHandle healthy = Start(a, Sender(a, "np-healthy", pair.AddressA, rx.BoundLocal!, ChannelFlags.Sequenced));
        using ChannelHandle dead = Start(a, Sender(a, "np-nowhere", pair.AddressA, new IPEndPoint(pair.Nowhere, DiscardPort), ChannelFlags.Sequenced));
        healthy.RequestReports();
        dead.RequestReports();
        var healthyReports = new Reports(healthy);
        var deadReports = new Reports(dead);

        // The dead channel's packets wait in the neighbour's queue until resolution fails (3 probes 100 ms
        // apart), then each comes back as an ICMP host unreachable from this host; meanwhile the healthy
        // channel sends 1 ms apart, before, during and after that burst of errors. The dead packets all go
        // within one round of resolution (120 ms of the 300): a packet sent while the kernel flushes a failed
        // neighbour's queue restarts resolution, which stops the flush, and the kernel then drops the rest of
        // the queue without an error (neigh_invalidate purges it): seen here as 16 packets of 150 never
        // reported, in 1 run of 5, when the dead channel sent across three rounds.
        const int deadPackets = 60, healthyPackets = 800;
        byte[] payload = new byte[64];
        long start = Libc.MonotonicNow() + 5_000_000;
        for (int i = 0; i < deadPackets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, dead.TryEnqueue(payload, start + (i * 2_000_000L), packetId: 1 + i));
        }
        for (int i = 0; i < healthyPackets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, healthy.TryEnqueue(payload, start + (i * 1_000_000L), packetId: 1 + i));
        }

        Wait.Until(() =>
        {
            healthyReports.Drain();
            deadReports.Drain();
            ChannelStats d = dead.ReadStats();
            return d.Pending == 0 && d[ChannelCounter.NetworkHostUnreachable] + d[ChannelCounter.NetworkOther] >= d[ChannelCounter.Sent]
                && deadReports.Packets.Count() >= deadPackets && healthyReports.Packets.Count() >= healthyPackets
                && healthy.ReadStats().Pending == 0 && rx.ReadStats()[ChannelCounter.Received] >= healthyPackets;
        }, Timeout, () => $"dead: {Describe(dead.ReadStats())}, {deadReports.Packets.Count()} reports, ids without error: {string.Join(",", Enumerable.Range(1, deadPackets).Except(deadReports.NetworkErrors.Select(e => (int)e.PacketId)))}, error times (ms from start): {string.Join(",", deadReports.NetworkErrors.Select(e => (e.ReportedNs - start) / 1_000_000).Distinct())}, stamps sched {dead.ReadStats()[ChannelCounter.TxStampsSched]} sw {dead.ReadStats()[ChannelCounter.TxStampsSoftware]} unmatched {dead.ReadStats()[ChannelCounter.TxStampsUnmatched]} eq-errors {dead.ReadStats()[ChannelCounter.ErrorQueueErrors]}\nhealthy: {Describe(healthy.ReadStats())}, received {rx.ReadStats()[ChannelCounter.Received]}\n{a.Log}");
        healthyReports.Drain();
        deadReports.Drain();
        ChannelStats deadStats = dead.ReadStats();
        ChannelStats healthyStats = healthy.ReadStats();
        output.WriteLine($"dead: {Describe(deadStats)}");
        output.WriteLine($"healthy: {Describe(healthyStats)}");

        // Every dead packet left this host's socket (the send succeeds: the packet waits for the neighbour) and
        // came back as host unreachable from this host, matched to it; none was dropped.
        long deadSent = deadStats[ChannelCounter.Sent];
        Assert.Equal(deadPackets, deadSent);
        Assert.Equal(0, deadStats[ChannelCounter.DroppedError]);
        // A send call that met the burst (an earlier packet's error) was resent: never seen here, as the worker
        // reads the errors, which clears the socket's pending one, before the channel's next packet.
        Assert.All(deadStats.SendErrnos.Where(kv => kv.Value != 0), kv => Assert.Equal(EHOSTUNREACH, kv.Key));
        Assert.Equal(deadStats[ChannelCounter.ResentAfterNetworkError], deadStats.SendErrnos.GetValueOrDefault(EHOSTUNREACH));
        Assert.Equal(deadSent, deadStats[ChannelCounter.NetworkHostUnreachable]);
        Assert.Equal(deadSent, deadStats[ChannelCounter.NetworkErrorsExact]);
        TxReport[] deadPacketReports = deadReports.Packets.ToArray();
        Assert.Equal(deadPackets, deadPacketReports.Length);
        Assert.All(deadPacketReports.Where(p => (TxOutcome)p.Outcome == TxOutcome.DroppedError), p => Assert.Equal(EHOSTUNREACH, p.Errno));
        long[] sentIds = deadPacketReports.Where(p => (TxOutcome)p.Outcome is TxOutcome.Sent or TxOutcome.SentLate).Select(p => p.PacketId).Order().ToArray();
        Assert.Equal(deadSent, sentIds.Length);
        TxNetworkErrorReport[] errors = deadReports.NetworkErrors.ToArray();
        Assert.Equal(sentIds, errors.Select(e => e.PacketId).Order());
        foreach (TxNetworkErrorReport e in errors)
        {
            Assert.Equal((int)NetworkErrorKind.HostUnreachable, e.Kind);
            Assert.Equal((int)NetworkErrorAttribution.Exact, e.Attribution);
            Assert.Equal(EHOSTUNREACH, e.Errno);
            Assert.Equal((3, 1), (e.IcmpType, e.IcmpCode)); // destination unreachable, host unreachable
            Assert.Equal(pair.AddressA, e.Offender.ToIPEndPoint()!.Address); // this host's own report
        }
        long[] arpWaitMs = errors.Select(e => (e.ReportedNs - e.SentNs) / 1_000_000).Order().ToArray();
        long[] reported = errors.Select(e => e.ReportedNs).Order().ToArray();
        int rounds = 1 + reported.Zip(reported.Skip(1)).Count(x => x.Second - x.First > 50_000_000);
        output.WriteLine($"{rounds} failed resolutions; sent to host unreachable reported: min {arpWaitMs[0]} ms, median {arpWaitMs[arpWaitMs.Length / 2]} ms, max {arpWaitMs[^1]} ms");
        Assert.Equal(1, rounds);
        // The kernel gives up after its probes (3 x 100 ms), not before; a packet queued late in a round waits less.
        Assert.InRange(errors.Max(e => e.ReportedNs - e.SentNs), (NetworkPathFixture.ArpProbes - 1) * NetworkPathFixture.ArpRetransMs * 1_000_000L, 5_000_000_000L);

        // The healthy channel: all sent and received, no errors, on time.
        Assert.Equal(healthyPackets, healthyStats[ChannelCounter.Sent]);
        Assert.Equal(0, healthyStats[ChannelCounter.DroppedError] + healthyStats[ChannelCounter.ResentAfterNetworkError]);
        Assert.Equal(0, healthyStats[ChannelCounter.NetworkErrorsExact] + healthyStats[ChannelCounter.NetworkErrorsByOrder] + healthyStats[ChannelCounter.NetworkErrorsUnattributed]);
        Assert.Equal(healthyPackets, rx.ReadStats()[ChannelCounter.Received]);
        long[] lateUs = healthyReports.Packets.Select(p => (p.SentNs - p.DueNs) / 1000).Order().ToArray();
        Assert.Equal(healthyPackets, lateUs.Length);
        long p99 = lateUs[(int)(lateUs.Length * 0.99)];
        output.WriteLine($"healthy send error: p50 {lateUs[lateUs.Length / 2]} us, p99 {p99} us, max {lateUs[^1]} us");
        // A stall is what this catches: this shared 2-core machine's p99 here is mostly under 2 ms, at worst 17 ms.
        string lateOnes = string.Join(",", healthyReports.Packets.Where(p => p.SentNs - p.DueNs > 2_000_000).Select(p => $"{(p.DueNs - start) / 1_000_000}ms+{(p.SentNs - p.DueNs) / 1000}us"));
        // Machine noise moves the whole run (a worker paused up to 19 ms, before any error was reported); the
        // errors must not add a stall around the moment they come (the flush of the neighbour's queue).
        long flushAt = errors.Min(e => e.ReportedNs);
        long aroundFlush = healthyReports.Packets.Where(p => Math.Abs(p.DueNs - flushAt) <= 20_000_000).Max(p => p.SentNs - p.DueNs) / 1000;
        output.WriteLine($"healthy send error around the flush (due within 20 ms of it): max {aroundFlush} us");
        Assert.True(p99 < 50_000, $"healthy channel p99 send error {p99} us (>= 50 ms); late by over 2 ms (due from start + lateness): {lateOnes}; the dead channel's errors reported at {(flushAt - start) / 1_000_000} ms");
        Assert.True(aroundFlush < 20_000, $"healthy channel send error around the flush {aroundFlush} us (>= 20 ms); late by over 2 ms (due from start + lateness): {lateOnes}; the dead channel's errors reported at {(flushAt - start) / 1_000_000} ms");
        output.WriteLine($"healthy packets late by over 2 ms (due + lateness): {lateOnes}; errors reported from {(errors.Min(e => e.ReportedNs) - start) / 1_000_000} ms");
        Accounting.AssertBalanced(dead, healthy);
        Assert.Equal(ChannelState.Running, dead.State);
        a.Client.DeleteChannel(dead.Id);
        a.Client.DeleteChannel(healthy.Id);
        b.Client.DeleteChannel(rx.Id);
    }

    [Theory]
    [InlineData("unreachable", EHOSTUNREACH)]
    [InlineData("throw", ENETUNREACH)]
    public void A_route_that_refuses_every_send_drops_each_packet_after_its_bounded_resends(string routeType, int errno)
    {
        if (Skipped())
        {
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = Start(b, Receiver(b, "np-route-rx", pair.AddressB));
        using ChannelHandle tx = Start(a, Sender(a, "np-route", pair.AddressA, rx.BoundLocal!, ChannelFlags.Sequenced));
        tx.RequestReports();
        var reports = new Reports(tx);
        byte[] payload = new byte[64];
        string host = $"{pair.AddressB}/32";

        // The route works: the channel connects and its packets arrive.
        const int before = 20, refused = 50, after = 20;
        Enqueue(tx, payload, before, firstId: 1);
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == before, Timeout, () => $"first packets to arrive: {Describe(tx.ReadStats())}");

        // A more specific route refuses the peer: every send call fails at once with the route's errno.
        pair.IpInA("route", "add", routeType, host);
        try
        {
            Enqueue(tx, payload, refused, firstId: 1 + before);
            ChannelStats s = Accounting.WaitFinished(tx, before + refused, Timeout);
            reports.Drain();
            output.WriteLine($"{routeType}: {Describe(s)}");
            Assert.Equal(before, s[ChannelCounter.Sent]);
            Assert.Equal(refused, s[ChannelCounter.DroppedError]);
            Assert.Equal(refused, s[ChannelCounter.DroppedAfterResends]);
            Assert.Equal(refused * MessageBatchMaxResends, s[ChannelCounter.ResentAfterNetworkError]);
            // Each packet: its own call, then the bounded resends, every one failing with the route's errno.
            Assert.Equal(new Dictionary<int, long> { [errno] = refused * (1 + MessageBatchMaxResends) }, s.SendErrnos.Where(kv => kv.Value != 0).ToDictionary());
            Assert.Equal(0, s[ChannelCounter.NetworkHostUnreachable] + s[ChannelCounter.NetworkNetUnreachable]); // nothing on the error queue
            TxReport[] dropped = reports.Packets.Where(p => (TxOutcome)p.Outcome == TxOutcome.DroppedError).ToArray();
            Assert.Equal(Enumerable.Range(1 + before, refused).Select(i => (long)i), dropped.Select(p => p.PacketId).Order());
            Assert.All(dropped, p => Assert.Equal(errno, p.Errno));
            Assert.Equal(ChannelState.Running, tx.State);
            Accounting.AssertBalanced(tx);
        }
        finally
        {
            pair.IpInA("route", "del", routeType, host);
        }

        // The route back: the same worker sends again, and the packets arrive.
        Enqueue(tx, payload, after, firstId: 1 + before + refused);
        Wait.Until(() => rx.ReadStats()[ChannelCounter.Received] == before + after, Timeout, () => $"packets after the route came back: {Describe(tx.ReadStats())}");
        ChannelStats end = Accounting.WaitFinished(tx, before + refused + after, Timeout);
        Assert.Equal(before + after, end[ChannelCounter.Sent]);
        Assert.Equal(refused, end[ChannelCounter.DroppedError]);
        Accounting.AssertBalanced(tx);
        a.Client.DeleteChannel(tx.Id);
        b.Client.DeleteChannel(rx.Id);
    }

    private const int MessageBatchMaxResends = RtUdp.Core.Engine.Send.MessageBatch.MaxResends;

    [Fact]
    public void Over_the_link_mtu_with_dont_fragment_the_big_packets_are_dropped_too_big_and_without_it_they_arrive_fragmented()
    {
        if (Skipped())
        {
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        const int mtu = 1280, small = 1200, big = 1400, each = 20;
        pair.IpInA("link", "set", "dev", pair.VethA, "mtu", mtu.ToString(CultureInfo.InvariantCulture));
        try
        {
            using ChannelHandle rxDf = Start(b, Receiver(b, "np-df-rx", pair.AddressB));
            using ChannelHandle rxPlain = Start(b, Receiver(b, "np-plain-rx", pair.AddressB));
            using ChannelHandle df = Start(a, Sender(a, "np-df", pair.AddressA, rxDf.BoundLocal!, ChannelFlags.Sequenced | ChannelFlags.DontFragment, maxPayload: 2048));
            using ChannelHandle plain = Start(a, Sender(a, "np-plain", pair.AddressA, rxPlain.BoundLocal!, ChannelFlags.Sequenced, maxPayload: 2048));
            df.RequestReports();
            plain.RequestReports();
            var dfReports = new Reports(df);
            var plainReports = new Reports(plain);

            long start = Libc.MonotonicNow() + 5_000_000;
            for (int i = 0; i < 2 * each; i++)
            {
                byte[] payload = new byte[i % 2 == 0 ? small : big]; // even ids fit, odd ones do not
                Assert.Equal(EnqueueResult.Ok, df.TryEnqueue(payload, start + (i * 1_000_000L), packetId: i));
                Assert.Equal(EnqueueResult.Ok, plain.TryEnqueue(payload, start + (i * 1_000_000L), packetId: i));
            }
            Wait.Until(() =>
            {
                dfReports.Drain();
                plainReports.Drain();
                return df.ReadStats().Pending == 0 && plain.ReadStats().Pending == 0
                    && rxDf.ReadStats()[ChannelCounter.Received] >= each && rxPlain.ReadStats()[ChannelCounter.Received] >= 2 * each;
            }, Timeout, () => $"df: {Describe(df.ReadStats())}, received {rxDf.ReadStats()[ChannelCounter.Received]}\nplain: {Describe(plain.ReadStats())}, received {rxPlain.ReadStats()[ChannelCounter.Received]}");
            dfReports.Drain();
            plainReports.Drain();
            ChannelStats d = df.ReadStats();
            ChannelStats p = plain.ReadStats();
            output.WriteLine($"df: {Describe(d)}, path mtu {d[ChannelCounter.PathMtu]}");
            output.WriteLine($"plain: {Describe(p)}");

            // DF: the big ones dropped as too big for the path (no resend), the small ones sent and received.
            Assert.Equal(each, d[ChannelCounter.Sent]);
            Assert.Equal(each, d[ChannelCounter.DroppedTooBig]);
            Assert.Equal(each, d[ChannelCounter.DroppedError]);
            Assert.Equal(0, d[ChannelCounter.DroppedAfterResends] + d[ChannelCounter.ResentAfterNetworkError]);
            Assert.Equal(mtu, d[ChannelCounter.PathMtu]);
            Assert.Equal(each, d.SendErrnos.GetValueOrDefault(EMSGSIZE));
            TxReport[] dfPackets = dfReports.Packets.ToArray();
            Assert.Equal(2 * each, dfPackets.Length);
            foreach (TxReport r in dfPackets)
            {
                if (r.PacketId % 2 == 1)
                {
                    Assert.Equal((TxOutcome.DroppedError, EMSGSIZE, mtu), ((TxOutcome)r.Outcome, r.Errno, r.PathMtu));
                }
                else
                {
                    Assert.True((TxOutcome)r.Outcome is TxOutcome.Sent or TxOutcome.SentLate, $"packet {r.PacketId}: {(TxOutcome)r.Outcome}");
                    Assert.Equal((0, 0), (r.Errno, r.PathMtu));
                }
            }
            Assert.Empty(dfReports.NetworkErrors);
            Accounting.WaitReceiverIdle(rxDf);
            Assert.Equal(each, rxDf.ReadStats()[ChannelCounter.Received]);

            // Without DF: the big ones leave in fragments, and B reassembles them.
            Assert.Equal(2 * each, p[ChannelCounter.Sent]);
            Assert.Equal(0, p[ChannelCounter.DroppedError] + p[ChannelCounter.DroppedTooBig]);
            Assert.All(plainReports.Packets, r => Assert.True((TxOutcome)r.Outcome is TxOutcome.Sent or TxOutcome.SentLate, $"packet {r.PacketId}: {(TxOutcome)r.Outcome}"));
            Accounting.WaitReceiverIdle(rxPlain);
            Assert.Equal(2 * each, rxPlain.ReadStats()[ChannelCounter.Received]);
            Accounting.AssertBalanced(df, plain, rxDf, rxPlain);
            a.Client.DeleteChannel(df.Id);
            a.Client.DeleteChannel(plain.Id);
            b.Client.DeleteChannel(rxDf.Id);
            b.Client.DeleteChannel(rxPlain.Id);
        }
        finally
        {
            pair.IpInA("link", "set", "dev", pair.VethA, "mtu", "1500");
        }
    }

    [Fact]
    public void An_error_storm_on_one_channel_keeps_its_own_schedule_and_its_neighbours()
    {
        if (Skipped())
        {
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = Start(b, Receiver(b, "np-calm-rx", pair.AddressB));
        using ChannelHandle sink = Start(b, Receiver(b, "np-sink", pair.AddressB) with { Capacity = 16_384 });
        using ChannelHandle calm = Start(a, Sender(a, "np-calm", pair.AddressA, rx.BoundLocal!, ChannelFlags.Sequenced));
        calm.RequestReports();
        var calmReports = new Reports(calm);
        byte[] payload = new byte[64];

        // The same burst twice beside the calm channel: to a port that takes it (the baseline, this shared
        // machine's own noise at that rate), then to a closed one, every packet refused (no ICMP rate limit in B).
        (long[] Storm, long[] Calm, ChannelStats Stats) Run(IPEndPoint target, string name, long calmFirstId)
        {
            using ChannelHandle storm = Start(a, Sender(a, name, pair.AddressA, target, ChannelFlags.Sequenced) with { Capacity = 8192 });
            storm.RequestReports();
            var stormReports = new Reports(storm);
            long start = Libc.MonotonicNow() + 5_000_000;
            for (int i = 0; i < StormPackets; i++)
            {
                Assert.Equal(EnqueueResult.Ok, storm.TryEnqueue(payload, start + (i * StormSpacingNs), packetId: 1 + i));
            }
            long[] calmLate = CalmLateness(calm, calmReports, rx, payload, CalmPackets, calmFirstId, before: (int)(calmFirstId - 1), drainAlso: stormReports);
            Wait.Until(() =>
            {
                stormReports.Drain();
                return storm.ReadStats().Pending == 0 && stormReports.Packets.Count() >= StormPackets;
            }, Timeout, () => $"{name}: {Describe(storm.ReadStats())}, {stormReports.Packets.Count()} reports");
            ChannelStats stats = storm.ReadStats();
            Accounting.AssertBalanced(storm);
            Assert.Equal(ChannelState.Running, storm.State);
            long[] stormLate = stormReports.Packets.Where(p => p.SentNs != 0).Select(p => (p.SentNs - p.DueNs) / 1000).Order().ToArray();
            a.Client.DeleteChannel(storm.Id);
            return (stormLate, calmLate, stats);
        }

        var clean = Run(sink.BoundLocal!, "np-clean", calmFirstId: 1);
        var refused = Run(new IPEndPoint(pair.AddressB, DiscardPort), "np-storm", calmFirstId: 1 + CalmPackets);
        static string Summary(long[] us) => $"p50 {us[us.Length / 2]} us, p99 {P99(us)} us, max {us[^1]} us";
        output.WriteLine($"clean: {Describe(clean.Stats)}");
        output.WriteLine($"storm: {Describe(refused.Stats)}");
        output.WriteLine($"burst channel: clean {Summary(clean.Storm)}, refused {Summary(refused.Storm)}; calm channel: beside clean {Summary(clean.Calm)}, beside refused {Summary(refused.Calm)}");

        // Every refused packet is sent, or dropped after its bounded resends with ECONNREFUSED.
        ChannelStats st = refused.Stats;
        Assert.Equal(StormPackets, st[ChannelCounter.Sent] + st[ChannelCounter.DroppedAfterResends]);
        Assert.Equal(st[ChannelCounter.DroppedAfterResends], st[ChannelCounter.DroppedError]);
        Assert.All(st.SendErrnos.Where(kv => kv.Value != 0), kv => Assert.Equal(Errno.ECONNREFUSED, kv.Key));
        Assert.True(st[ChannelCounter.NetworkRefused] > StormPackets / 2, Describe(st));
        Assert.Equal(StormPackets, clean.Stats[ChannelCounter.Sent]);

        // The schedules: the errors make neither channel fall behind much more than the same traffic without
        // them. This shared 2-core machine's p99 at that rate moves between 40 us and 8 ms from run to run
        // (either run), so the floor is 20 ms: what the test catches is a stall, not a slowdown.
        long stormBound = Math.Max(3 * P99(clean.Storm), 20_000);
        long calmBound = Math.Max(3 * P99(clean.Calm), 20_000);
        Assert.True(P99(refused.Storm) <= stormBound, $"burst channel p99 {P99(refused.Storm)} us refused > {stormBound} us (clean {P99(clean.Storm)} us)");
        Assert.True(P99(refused.Calm) <= calmBound, $"calm channel p99 {P99(refused.Calm)} us beside the storm > {calmBound} us (beside clean {P99(clean.Calm)} us)");
        Accounting.AssertBalanced(calm);
        a.Client.DeleteChannel(calm.Id);
        b.Client.DeleteChannel(rx.Id);
        b.Client.DeleteChannel(sink.Id);
    }

    private const int CalmPackets = 500;
    private const int StormPackets = 5_000;
    private const long StormSpacingNs = 100_000; // 10 000 packets/s for 500 ms

    private static long P99(long[] sorted) => sorted[(int)(sorted.Length * 0.99)];

    /// <summary>Sends <paramref name="count"/> packets 1 ms apart on the calm channel; returns their send errors (sent - due, us), sorted.</summary>
    private static long[] CalmLateness(ChannelHandle calm, Reports reports, ChannelHandle rx, byte[] payload, int count, long firstId, int before, Reports? drainAlso = null)
    {
        long start = Libc.MonotonicNow() + 10_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, calm.TryEnqueue(payload, start + (i * 1_000_000L), packetId: firstId + i));
        }
        Wait.Until(() =>
        {
            reports.Drain();
            drainAlso?.Drain();
            return reports.Packets.Count() >= before + count && rx.ReadStats()[ChannelCounter.Received] >= before + count;
        }, Timeout, () => $"calm: {Describe(calm.ReadStats())}, {reports.Packets.Count()} reports, received {rx.ReadStats()[ChannelCounter.Received]}");
        Assert.Equal(before + count, calm.ReadStats()[ChannelCounter.Sent]);
        return reports.Packets.Where(p => p.PacketId >= firstId).Select(p => (p.SentNs - p.DueNs) / 1000).Order().ToArray();
    }

    /// <summary>Enqueues <paramref name="count"/> packets 1 ms apart from shortly after now.</summary>
    private static void Enqueue(ChannelHandle tx, byte[] payload, int count, long firstId)
    {
        long start = Libc.MonotonicNow() + 2_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 1_000_000L), packetId: firstId + i));
        }
    }

    private static string Describe(ChannelStats s) =>
        $"sent {s[ChannelCounter.Sent]}, dropped_error {s[ChannelCounter.DroppedError]}, pending {s.Pending}, resent {s[ChannelCounter.ResentAfterNetworkError]}, "
        + $"dropped_after_resends {s[ChannelCounter.DroppedAfterResends]}, dropped_too_big {s[ChannelCounter.DroppedTooBig]}, "
        + $"refused {s[ChannelCounter.NetworkRefused]}, host_unreach {s[ChannelCounter.NetworkHostUnreachable]}, net_unreach {s[ChannelCounter.NetworkNetUnreachable]}, "
        + $"too_big {s[ChannelCounter.NetworkTooBig]}, other {s[ChannelCounter.NetworkOther]}, exact {s[ChannelCounter.NetworkErrorsExact]}, by_order {s[ChannelCounter.NetworkErrorsByOrder]}, "
        + $"none {s[ChannelCounter.NetworkErrorsUnattributed]}, reports_lost {s[ChannelCounter.TxReportsLost]}, path_mtu {s[ChannelCounter.PathMtu]}, errnos {string.Join(",", s.SendErrnos.Select(kv => $"{kv.Key}:{kv.Value}"))}";
}
