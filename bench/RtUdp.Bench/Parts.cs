using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>The four parts of the bench. Each starts its own engine and runs one thing at a time.</summary>
internal sealed partial class Parts(double seconds, References references)
{
    /// <summary>The throughput sender runs at SCHED_FIFO 80 like the timing channels; the C reference gets the same.</summary>
    private const int Priority = 80;
    private const int SendCpu = 1;
    private const long HybridMarginNs = 100_000;

    private readonly List<string> _engineLog = [];
    private uint _nextId;

    public List<Row> Rows { get; } = [];

    public IReadOnlyList<string> EngineLog
    {
        get
        {
            lock (_engineLog)
            {
                return [.. _engineLog];
            }
        }
    }

    private string S => F(seconds, "0.#") + " s";

    private sealed class Session : IDisposable
    {
        /// <param name="wrapper">A command that execs the engine, e.g. <c>ip netns exec NS</c> (null: run it directly).</param>
        public Session(List<string> log, IEnumerable<string>? wrapper = null)
        {
            Directory = Path.Combine(System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"rtudp-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(Directory);
            Engine = EngineProcess.Start(Directory, line =>
            {
                lock (log)
                {
                    log.Add(line);
                }
            }, wrapperCommand: wrapper);
        }

        public string Directory { get; }

        public EngineProcess Engine { get; }

        public EngineConnection Client => Engine.Client;

        public void Dispose()
        {
            Engine.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private uint NextId() => ++_nextId;

    // ---------------------------------------------------------------- 1. throughput

    public void Throughput()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        double? ref1 = references.Throughput(remote.Port, SendCpu, Priority, seconds, 64, out string d1);
        // Like for like with the C loop: no kernel stamps, no GSO trains. The stamped run below shows what stamps cost.
        (double pps, string detail) = EngineThroughput(remote, TimestampMode.Off, GsoMode.Off);
        (double stampedPps, string stampedDetail) = EngineThroughput(remote, TimestampMode.Software, GsoMode.Off);
        // Issue 18: the same packets due together leave as UDP GSO trains (up to 64 a datagram).
        (double trainPps, string trainDetail) = EngineThroughput(remote, TimestampMode.Off, GsoMode.Auto);
        double? ref2 = references.Throughput(remote.Port, SendCpu, Priority, seconds, 64, out string d2);
        string reference;
        double refPps = 0;
        if (ref1 is null || ref2 is null)
        {
            reference = $"n/a ({d1}{d2})";
        }
        else
        {
            refPps = (ref1.Value + ref2.Value) / 2;
            reference = $"{F(refPps, "N0")} (C sendmmsg loop, before/after: {F(ref1.Value, "N0")} / {F(ref2.Value, "N0")})";
        }
        Rows.Add(new Row("1 throughput", $"64-byte packets/s sent, CPU {SendCpu} FIFO {Priority}, batch 64, {S}", F(pps, "N0"), reference,
            refPps > 0 ? Ratio(pps, refPps) : "n/a", ">= 0.90x", refPps > 0 ? Verdict(pps / refPps >= 0.9) : "?"));
        // Issue 18's target: UDP GSO, one send() per train of 64 datagrams, cut by the kernel.
        double? gso = references.GsoThroughput(remote.Port, SendCpu, Priority, seconds, 64, 64, out string gsoDetail);
        Rows.Add(new Row("1 throughput", $"C reference: 64-byte datagrams/s with UDP GSO (send() of 64 x 64 B, UDP_SEGMENT), CPU {SendCpu} FIFO {Priority}, {S}",
            "-", gso is { } g ? $"{F(g, "N0")} (C GSO loop){(gsoDetail.Length > 0 ? "; " + gsoDetail : "")}" : gsoDetail,
            gso is { } g2 && refPps > 0 ? $"{F(g2 / refPps, "0.00")}x the C sendmmsg loop" : "-", "- (issue 18: engine trains >= 0.9x this)", "-"));
        Rows.Add(new Row("1 throughput", $"engine with GSO trains (gso auto, batch 64: trains of up to 64 x 64 B), CPU {SendCpu} FIFO {Priority}, {S}", F(trainPps, "N0"),
            $"{F(pps, "N0")} (the engine with sendmmsg, gso off)", Ratio(trainPps, pps), ">= 3x", Verdict(trainPps / pps >= 3)));
        Rows.Add(new Row("1 throughput", "engine with GSO trains against the C GSO loop", F(trainPps, "N0"),
            gso is { } cg ? $"{F(cg, "N0")} (C GSO loop)" : "n/a", gso is { } cg2 ? Ratio(trainPps, cg2) : "n/a", ">= 0.90x", gso is { } cg3 ? Verdict(trainPps / cg3 >= 0.9) : "?"));
        Rows.Add(new Row("1 throughput", "engine detail", detail, "", "", "", ""));
        Rows.Add(new Row("1 throughput", "engine with trains detail", trainDetail, "", "", "", ""));
        Rows.Add(new Row("1 throughput", $"the same with software TX stamps (SCHED + SND per packet from the error queue)", F(stampedPps, "N0"), refPps > 0 ? F(refPps, "N0") + " (same C loop, no stamps)" : "n/a",
            refPps > 0 ? Ratio(stampedPps, refPps) : "n/a", "- (cost of stamping)", ""));
        Rows.Add(new Row("1 throughput", "stamped engine detail", stampedDetail, "", "", "", ""));
    }

    // ---------------------------------------------------------------- 1b. a refusing peer

    /// <summary>
    /// Full-rate sends to a port nobody listens on (every datagram draws an ICMP port unreachable on loopback)
    /// against the same to a listening sink, in the same run: what reading, counting and matching the errors
    /// costs, and that none costs a packet.
    /// </summary>
    public void Refused()
    {
        using Socket sink = Sink();
        IPEndPoint listening = EndPoint(sink);
        IPEndPoint closed;
        using (Socket gone = Sink())
        {
            closed = EndPoint(gone);
        }
        (double okPps, string okDetail) = EngineThroughput(listening, TimestampMode.Off);
        (double refusedPps, string refusedDetail) = EngineThroughput(closed, TimestampMode.Off);
        (double okPps2, _) = EngineThroughput(listening, TimestampMode.Off);
        double baseline = (okPps + okPps2) / 2;
        Rows.Add(new Row("1b refused peer", $"64-byte packets/s to a closed port (an ICMP error per packet), CPU {SendCpu} FIFO {Priority}, {S}", F(refusedPps, "N0"),
            $"{F(baseline, "N0")} (to a listening port, before/after: {F(okPps, "N0")} / {F(okPps2, "N0")})", Ratio(refusedPps, baseline), "- (cost of the errors)", ""));
        Rows.Add(new Row("1b refused peer", "closed-port detail", refusedDetail, "", "", "", ""));
        Rows.Add(new Row("1b refused peer", "listening detail", okDetail, "", "", "", ""));
    }

    private (double Pps, string Detail) EngineThroughput(IPEndPoint remote, TimestampMode timestamps, GsoMode gso = GsoMode.Off)
    {
        using var session = new Session(_engineLog);
        ChannelConfig config = Sender(NextId(), "bench-tput", remote) with { Capacity = 65536, TxRingBytes = 16 << 20, Priority = Priority, Timestamps = timestamps, Gso = gso };
        using ChannelHandle channel = session.Client.CreateChannel(config);
        session.Client.StartChannel(channel.Id);
        using var feeder = new Feeder(channel, cpu: 0);
        Thread.Sleep(500);
        ChannelStats before = channel.ReadStats();
        long t0 = Libc.MonotonicNow();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        ChannelStats after = channel.ReadStats();
        long t1 = Libc.MonotonicNow();
        feeder.Stop();
        session.Client.DeleteChannel(channel.Id);

        double elapsed = (t1 - t0) / 1e9;
        long sent = after[ChannelCounter.Sent] - before[ChannelCounter.Sent];
        long calls = after[ChannelCounter.SendCalls] - before[ChannelCounter.SendCalls];
        long waits = after[ChannelCounter.SendWaits] - before[ChannelCounter.SendWaits];
        long full = after[ChannelCounter.RejectedFull] - before[ChannelCounter.RejectedFull];
        long pending = after.Pending;
        string errors = after.SendErrnos.Count == 0 ? "none" : string.Join(",", after.SendErrnos.Select(e => $"{e.Key}x{e.Value}"));
        long refused = after[ChannelCounter.NetworkRefused] - before[ChannelCounter.NetworkRefused];
        string network = refused == 0 && after[ChannelCounter.DroppedError] == 0 ? ""
            : $", network errors: {F(refused, "N0")} refused ({F(after[ChannelCounter.NetworkErrorsExact] + after[ChannelCounter.NetworkErrorsByOrder] - before[ChannelCounter.NetworkErrorsExact] - before[ChannelCounter.NetworkErrorsByOrder], "N0")} matched, {F(after[ChannelCounter.NetworkErrorsUnattributed] - before[ChannelCounter.NetworkErrorsUnattributed], "N0")} not), {F(after[ChannelCounter.ResentAfterNetworkError] - before[ChannelCounter.ResentAfterNetworkError], "N0")} resent, {F(after[ChannelCounter.DroppedError], "N0")} dropped";
        long trains = after[ChannelCounter.GsoTrains] - before[ChannelCounter.GsoTrains];
        long trainPackets = after[ChannelCounter.GsoTrainPackets] - before[ChannelCounter.GsoTrainPackets];
        string gsoDetail = trains == 0 ? "" : $"{F(trainPackets / (double)trains, "0.0")} pkts/train ({F(trainPackets * 100.0 / Math.Max(1, sent), "0")}% of packets in trains), ";
        return (sent / elapsed,
            $"{gsoDetail}{F(sent / (double)Math.Max(1, calls), "0.0")} pkts/sendmmsg, worker parked {waits}x (ring empty), producer saw full ring {full}x, {pending} pending at end, errnos {errors}, {F(channel.ReadStats()[ChannelCounter.TxReportsLost], "N0")} reports lost (none asked for){network}");
    }

    // ---------------------------------------------------------------- 2. timing

    public void Timing()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        using var session = new Session(_engineLog);
        foreach (long periodNs in new long[] { 1_000_000, 100_000 })
        {
            string rate = periodNs == 1_000_000 ? "1 kHz" : "10 kHz";
            // At 10 kHz a 100 us margin is the whole period: the worker never sleeps, i.e. it spins 100% of
            // the time at SCHED_FIFO and RT throttling takes ~50 ms a second. A 50 us margin row shows the fix.
            var runs = new List<(TimingStrategy Timing, long Margin)> { (TimingStrategy.Hybrid, HybridMarginNs), (TimingStrategy.Sleep, 0) };
            if (periodNs <= HybridMarginNs)
            {
                runs.Add((TimingStrategy.Hybrid, periodNs / 2));
            }
            foreach ((TimingStrategy timing, long margin) in runs)
            {
                Percentiles engine = EngineTiming(session.Client, remote, periodNs, timing, out string detail, margin);
                Percentiles? reference = references.Timer(remote.Port, SendCpu, Priority, seconds, periodNs, margin, out string refDetail);
                string what = timing == TimingStrategy.Hybrid ? $"sleep to T-{margin / 1000}us, spin" : "clock_nanosleep only";
                bool? goal = timing == TimingStrategy.Hybrid ? engine.P50 <= 2000 : null;
                string name = timing == TimingStrategy.Hybrid ? $"Hybrid (margin {margin / 1000} us)" : "Sleep";
                Rows.Add(new Row("2 timing", $"{rate} {name} send error p50/p99/p99.9/max us ({S}){detail}", engine.Format(),
                    reference is { } r ? $"{r.Format()} (C {what}, same CPU/prio)" : refDetail,
                    reference is { } r2 ? "p99.9 " + Ratio(engine.P999, r2.P999) : "n/a",
                    timing == TimingStrategy.Hybrid ? "p50 <= 2 us" : "-",
                    goal is null ? "" : Verdict(goal.Value)));
            }
            Percentiles? cyclic = references.RunCyclictest(SendCpu, Priority, periodNs / 1000, seconds, out string cyclicDetail);
            Rows.Add(new Row("2 timing", $"{rate} cyclictest wake-up latency p50/p99/p99.9/max us", "-",
                cyclic is { } c ? $"{c.Format()} (cyclictest -m -p{Priority} -a{SendCpu} -t1 -i{periodNs / 1000})" : cyclicDetail, "", "", ""));
        }
    }

    /// <summary>Enqueues a run's packets up front (first due 10 ms from now), then collects every TxReport.</summary>
    private Percentiles EngineTiming(EngineConnection client, IPEndPoint remote, long periodNs, TimingStrategy timing, out string detail, long marginNs = HybridMarginNs)
    {
        int count = (int)(seconds * 1e9 / periodNs);
        ChannelConfig config = Sender(NextId(), $"bench-timing-{timing.ToString().ToLowerInvariant()}", remote) with
        {
            Timing = timing,
            Priority = Priority,
            SpinMarginNs = marginNs,
            Capacity = Math.Max(65536, count),
        };
        using ChannelHandle channel = client.CreateChannel(config);
        client.StartChannel(channel.Id);
        channel.RequestReports(); // before the first packet: every packet's report is collected below
        Thread.Sleep(200); // the worker is up, pinned and warmed
        byte[] payload = new byte[64];
        long start = Libc.MonotonicNow() + 10_000_000;
        int rejected = 0;
        for (int i = 0; i < count; i++)
        {
            if (channel.TryEnqueue(payload, start + (i * periodNs), i, signal: false) != EnqueueResult.Ok)
            {
                rejected++;
            }
            if ((i & 1023) == 1023)
            {
                channel.Flush();
            }
        }
        channel.Flush();
        long[] errors = CollectReports(channel, count - rejected, start + (count * periodNs) + 2_000_000_000, out int other);
        client.DeleteChannel(channel.Id);
        detail = (rejected, other, count - rejected - errors.Length - other) switch
        {
            (0, 0, 0) => "",
            var (r, o, m) => $" [rejected {r}, not sent {o}, missing {m}]",
        };
        return Percentiles.Of(errors);
    }

    private static long[] CollectReports(ChannelHandle channel, int expected, long deadlineNs, out int notSent)
    {
        var errors = new List<long>(expected);
        var reports = new TxReport[4096];
        notSent = 0;
        // Drain from CPU 0, off the worker's CPU; unpinned again after (engines and references are
        // started from this thread and would inherit its mask).
        Pin(0);
        using var unpin = new Unpinner();
        while (errors.Count + notSent < expected && Libc.MonotonicNow() < deadlineNs)
        {
            int n = channel.DrainReports(reports);
            for (int i = 0; i < n; i++)
            {
                if ((TxOutcome)reports[i].Outcome is TxOutcome.Sent or TxOutcome.SentLate)
                {
                    errors.Add(reports[i].SentNs - reports[i].DueNs);
                }
                else
                {
                    notSent++;
                }
            }
            if (n == 0)
            {
                Thread.Sleep(5);
            }
        }
        return [.. errors];
    }

    // ---------------------------------------------------------------- 3. GC immunity

    public void GcImmunity()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        using var session = new Session(_engineLog);
        Percentiles idle = EngineTiming(session.Client, remote, 1_000_000, TimingStrategy.Hybrid, out string idleDetail);

        EngineHealth healthBefore = session.Client.ReadHealth();
        ChannelConfig feedConfig = Sender(NextId(), "bench-gc-feed", remote) with { SendCpu = 0, Priority = 0, TxRingBytes = 16 << 20 };
        using ChannelHandle feed = session.Client.CreateChannel(feedConfig);
        session.Client.StartChannel(feed.Id);
        int[] gcBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        long t0 = Libc.MonotonicNow();
        long feedBefore = feed.ReadStats()[ChannelCounter.Sent];
        Percentiles loaded;
        string loadedDetail;
        using (var garbage = new Garbage(cpu: 0, bytesPerSecond: 200_000_000))
        using (var feeder = new Feeder(feed, cpu: 0))
        {
            Thread.Sleep(300);
            loaded = EngineTiming(session.Client, remote, 1_000_000, TimingStrategy.Hybrid, out loadedDetail);
            feeder.Stop();
            garbage.Stop();
        }
        long t1 = Libc.MonotonicNow();
        // A second idle run after the load: host noise moves p99.9 a lot, so the load is bracketed.
        Percentiles idleAfter = EngineTiming(session.Client, remote, 1_000_000, TimingStrategy.Hybrid, out string idleAfterDetail);
        idleDetail += idleAfterDetail;
        long idleP999 = (idle.P999 + idleAfter.P999) / 2;
        long feedSent = feed.ReadStats()[ChannelCounter.Sent] - feedBefore;
        long allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        int[] gcs = [GC.CollectionCount(0) - gcBefore[0], GC.CollectionCount(1) - gcBefore[1], GC.CollectionCount(2) - gcBefore[2]];
        session.Client.DeleteChannel(feed.Id);
        EngineHealth healthAfter = session.Client.ReadHealth();
        double elapsed = (t1 - t0) / 1e9;

        string load = $"bench process: {F(allocated / elapsed / 1e6, "0")} MB/s garbage, GCs gen0/1/2 {gcs[0]}/{gcs[1]}/{gcs[2]}; feeder channel sent {F(feedSent / elapsed, "N0")} pkts/s";
        Rows.Add(new Row("3 GC immunity", $"1 kHz Hybrid (margin 100 us) send error p50/p99/p99.9/max us under load ({S}){loadedDetail}", loaded.Format(),
            $"{idle.Format()} before, {idleAfter.Format()} after (same engine, idle){idleDetail}", "p99.9 " + Ratio(loaded.P999, idleP999) + " of idle mean",
            "p99.9 <= 1.25x idle", Verdict(loaded.P999 <= idleP999 * 1.25)));
        Rows.Add(new Row("3 GC immunity", "load applied during the run", load, "", "", "", ""));
        long engineGcs = healthAfter.TotalCollections - healthBefore.TotalCollections;
        Rows.Add(new Row("3 GC immunity", "engine GC count delta (gen0+1+2), load start to end of the idle run after", F(engineGcs, "0"),
            $"bench process: {gcs.Sum()}", "", "0", Verdict(engineGcs == 0)));
        Rows.Add(new Row("3 GC immunity", "engine allocated bytes delta, same span", F(healthAfter.AllocatedBytes - healthBefore.AllocatedBytes, "N0"),
            $"bench process: {F(allocated, "N0")}", "", "~0 (channel create/delete may allocate)", ""));
    }

    // ---------------------------------------------------------------- 4. memory

    public void Memory()
    {
        const int Packets = 1_000_000;
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        using var session = new Session(_engineLog);
        int pid = session.Engine.Pid;
        Thread.Sleep(1000);
        long idle = StatusKiB(pid, "VmRSS");
        ChannelConfig config = Sender(NextId(), "bench-memory", remote) with { Capacity = Packets, TxRingBytes = 128 << 20, Priority = Priority };
        using ChannelHandle channel = session.Client.CreateChannel(config);
        session.Client.StartChannel(channel.Id);
        byte[] payload = new byte[64];
        long due = Libc.MonotonicNow() + 60_000_000_000;
        int rejected = 0;
        for (int i = 0; i < Packets; i++)
        {
            if (channel.TryEnqueue(payload, due, i, signal: false) != EnqueueResult.Ok)
            {
                rejected++;
            }
            if ((i & 4095) == 4095)
            {
                channel.Flush();
            }
        }
        channel.Flush();
        long deadline = Libc.MonotonicNow() + 30_000_000_000;
        while (channel.ReadStats()[ChannelCounter.Scanned] < Packets - rejected && Libc.MonotonicNow() < deadline)
        {
            Thread.Sleep(20);
        }
        ChannelStats queued = channel.ReadStats();
        long rss = StatusKiB(pid, "VmRSS");
        long anon = StatusKiB(pid, "RssAnon");
        long shmem = StatusKiB(pid, "RssShmem");
        session.Client.DeleteChannel(channel.Id);
        Thread.Sleep(200);
        long afterDelete = StatusKiB(pid, "VmRSS");
        ChannelStats deleted = channel.ReadStats();

        Rows.Add(new Row("4 memory", $"engine VmRSS with {Packets:N0} x 64 B queued 60 s ahead (Capacity {Packets:N0}, TX ring 128 MiB); {queued[ChannelCounter.Scanned]:N0} scheduled, {rejected} rejected",
            $"{MiB(rss)} (anon {MiB(anon)}, shared {MiB(shmem)})", $"{MiB(idle)} (idle engine, no channel)", $"+{MiB(rss - idle)}", "<= 256 MiB", Verdict(rss <= 256 * 1024 && rejected == 0)));
        Rows.Add(new Row("4 memory", "after DeleteChannel: VmRSS / packets counted dropped (stopped)", $"{MiB(afterDelete)} / {deleted[ChannelCounter.DroppedStopped]:N0}",
            $"{Packets - rejected:N0} enqueued", "", "dropped = enqueued", Verdict(deleted[ChannelCounter.DroppedStopped] == Packets - rejected)));
    }

    private static string Verdict(bool ok) => ok ? "yes" : "**NO**";

    private readonly struct Unpinner : IDisposable
    {
        public void Dispose() => Unpin();
    }
}
