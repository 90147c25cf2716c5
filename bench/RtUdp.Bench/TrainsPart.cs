using System.Globalization;
using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>
/// Part trains (issue 18): UDP GSO trains on send against the engine's sendmmsg and the C GSO loop, on loopback
/// and on a veth pair between two namespaces the part makes; receive with GRO against without; the reflector's
/// round trip with busy-poll against sockperf, three runs. Every engine run is interleaved with its baselines.
/// </summary>
internal sealed partial class Parts
{
    /// <summary>Segments per train: the C loop's, and the engine's most (batch 64).</summary>
    private const int TrainSegments = 64;
    private const int TrainPayload = 64;

    /// <summary>CPU of the far receiver, the feeder, the RX drainer and the C sender of the receive runs; the engine's workers are on <see cref="SendCpu"/>.</summary>
    private const int FarCpu = 0;

    /// <summary>Where the sender and the receiver live: both on loopback in the root namespace, or either end of the veth pair.</summary>
    private sealed record NetPath(string Name, IReadOnlyList<string>? SenderSide, IReadOnlyList<string>? ReceiverSide, IPAddress SenderAddress, IPAddress ReceiverAddress);

    /// <summary>One sending run: datagrams/s sent, datagrams/s the far receiver counted, and in words what happened.</summary>
    private readonly record struct SendRun(double Sent, double Received, string Detail);

    /// <summary>One receiving run: packets/s the engine received, datagrams/s the C loop sent, and in words what happened.</summary>
    private readonly record struct ReceiveRun(double Received, double Sent, string Detail);

    public void Trains()
    {
        if (references.Binary is null)
        {
            throw new InvalidOperationException("the C references are needed: " + references.Problem);
        }
        var loopback = new NetPath("loopback", null, null, IPAddress.Loopback, IPAddress.Loopback);
        TrainsSend(loopback);
        GroReceive(loopback);
        using (VethPair? veth = VethPair.Create(out string problem))
        {
            if (veth is null)
            {
                Rows.Add(new Row("trains veth", "veth pair between namespaces: " + problem, "n/a", "", "", "", "?"));
            }
            else
            {
                var path = new NetPath("veth", veth.InA, veth.InB, VethPair.AddressA, VethPair.AddressB);
                Rows.Add(new Row("trains veth", $"the pair: {VethPair.NamespaceA} {VethPair.AddressA} ({VethPair.VethA}) <-> {VethPair.NamespaceB} {VethPair.AddressB} ({VethPair.VethB}); senders in a, receivers in b",
                    veth.Offloads(), "", "", "", ""));
                TrainsSend(path);
                GroReceive(path);
            }
        }
        BusyPollRoundTrips();
    }

    // ---------------------------------------------------------------- trains on send

    /// <summary>What one run of the send comparison sends with.</summary>
    private enum SendWith
    {
        CGso,

        /// <summary>The C GSO loop handing each train as 64 iovecs of 64 B (as the engine hands its ring's packets): what that costs the kernel.</summary>
        CGsoIovecs,
        EngineSendmmsg,
        EngineTrainsHybrid,
        EngineTrainsBulk,
    }

    /// <summary>
    /// The send comparison twice, each run for the run's duration to one far receiver (rtudp_ref rx, CPU 0, reading
    /// in a spin: a sleeping reader's wake-ups would be charged to the sender's CPU, the more the slower it is): first a
    /// plain recvmmsg receiver, as the issue measured (every train is cut into datagrams by the kernel on its way
    /// to the socket, on the sender's CPU: loopback and veth deliver in the sender's softirq), then one with UDP_GRO
    /// (a train arrives whole and is read whole, as the engine's own GRO receive would read it: what the sender's
    /// side costs once the far side's per-datagram cost is gone).
    /// </summary>
    private void TrainsSend(NetPath path)
    {
        using var session = new Session(_engineLog, path.SenderSide);
        TrainsSend(session.Client, path, farGro: false,
            [SendWith.CGso, SendWith.EngineSendmmsg, SendWith.EngineTrainsHybrid, SendWith.EngineTrainsBulk, SendWith.EngineSendmmsg, SendWith.CGso]);
        TrainsSend(session.Client, path, farGro: true,
            [SendWith.CGso, SendWith.EngineTrainsHybrid, SendWith.EngineSendmmsg, SendWith.CGsoIovecs, SendWith.EngineTrainsBulk, SendWith.CGso]);
    }

    private void TrainsSend(EngineConnection client, NetPath path, bool farGro, SendWith[] order)
    {
        using var receiver = FarReceiver.Start(references.Binary!, path.ReceiverSide, path.ReceiverAddress, FarCpu, farGro);
        var remote = new IPEndPoint(path.ReceiverAddress, receiver.Port);
        var runs = new List<(SendWith Sender, SendRun Run)>();
        foreach (SendWith sender in order)
        {
            SendRun run = sender switch
            {
                SendWith.CGso => CGsoSend(path, remote, receiver, iovecPerDatagram: false),
                SendWith.CGsoIovecs => CGsoSend(path, remote, receiver, iovecPerDatagram: true),
                SendWith.EngineSendmmsg => EngineSend(client, path, remote, GsoMode.Off, TimingStrategy.Hybrid, receiver),
                SendWith.EngineTrainsHybrid => EngineSend(client, path, remote, GsoMode.On, TimingStrategy.Hybrid, receiver),
                _ => EngineSend(client, path, remote, GsoMode.On, TimingStrategy.Bulk, receiver),
            };
            runs.Add((sender, run));
        }

        string far = farGro ? "UDP_GRO" : "recvmmsg";
        string part = $"trains {path.Name} (far: {far})";
        (double Mean, string Each) Of(SendWith sender, Func<SendRun, double> value)
        {
            double[] values = [.. runs.Where(r => r.Sender == sender).Select(r => value(r.Run))];
            return (values.Average(), values.Length == 1 ? "" : $" ({string.Join(" / ", values.Select(v => F(v, "N0")))})");
        }
        (double mmsg, string mmsgEach) = Of(SendWith.EngineSendmmsg, r => r.Sent);
        (double c, string cEach) = Of(SendWith.CGso, r => r.Sent);
        (double mmsgRx, string mmsgRxEach) = Of(SendWith.EngineSendmmsg, r => r.Received);
        (double cRx, string cRxEach) = Of(SendWith.CGso, r => r.Received);
        string reference = $"engine sendmmsg {F(mmsg, "N0")}{mmsgEach}; C GSO loop {F(c, "N0")}{cEach}";
        string referenceRx = $"from engine sendmmsg {F(mmsgRx, "N0")}{mmsgRxEach}; from C GSO loop {F(cRx, "N0")}{cRxEach}";
        foreach ((string timing, SendWith sender) in new[] { ("hybrid", SendWith.EngineTrainsHybrid), ("bulk", SendWith.EngineTrainsBulk) })
        {
            (double sent, _) = Of(sender, r => r.Sent);
            (double received, _) = Of(sender, r => r.Received);
            double toMmsg = sent / mmsg;
            double toC = sent / c;
            Rows.Add(new Row(part, $"{TrainPayload}-byte pkt/s SENT, gso on (trains of up to {TrainSegments}), timing {timing}, batch 64, CPU {SendCpu} FIFO {Priority}, {S}",
                F(sent, "N0"), reference, $"{F(toMmsg, "0.00")}x sendmmsg, {F(toC, "0.00")}x C GSO", ">= 3x sendmmsg, >= 0.9x C GSO",
                $"{Verdict(toMmsg >= 3)}, {Verdict(toC >= 0.9)}"));
            Rows.Add(new Row(part, $"{TrainPayload}-byte pkt/s RECEIVED by the far side (C {far}, CPU {FarCpu}), timing {timing}",
                F(received, "N0"), referenceRx, $"{F(received / mmsgRx, "0.00")}x sendmmsg's, {F(received / cRx, "0.00")}x C GSO's", "-", ""));
        }
        if (runs.Any(r => r.Sender == SendWith.CGsoIovecs))
        {
            (double apart, _) = Of(SendWith.CGsoIovecs, r => r.Sent);
            (double trains, _) = Of(SendWith.EngineTrainsHybrid, r => r.Sent);
            Rows.Add(new Row(part, $"diagnostic: C GSO loop handing each train as {TrainSegments} iovecs of {TrainPayload} B (the engine's trains are so: its packets lie apart in the TX ring)",
                $"{F(trains, "N0")} (engine trains, hybrid)", $"{F(apart, "N0")} (C, {TrainSegments} iovecs); C GSO loop, one iovec: {F(c, "N0")}",
                $"{F(trains / apart, "0.00")}x C with {TrainSegments} iovecs; that C {F(apart / c, "0.00")}x C with one", "-", ""));
        }
        for (int i = 0; i < runs.Count; i++)
        {
            Rows.Add(new Row(part, $"run {i + 1}: {Describe(runs[i].Sender)}", runs[i].Run.Detail, "", "", "", ""));
        }
    }

    private static string Describe(SendWith sender) => sender switch
    {
        SendWith.CGso => "C GSO loop",
        SendWith.CGsoIovecs => $"C GSO loop, {TrainSegments} iovecs a train",
        SendWith.EngineSendmmsg => "engine sendmmsg (gso off, hybrid)",
        SendWith.EngineTrainsHybrid => "engine trains (gso on, hybrid)",
        _ => "engine trains (gso on, bulk)",
    };

    private SendRun CGsoSend(NetPath path, IPEndPoint remote, FarReceiver receiver, bool iovecPerDatagram)
    {
        GsoRun run = references.Gso(remote, path.SenderSide, SendCpu, Priority, seconds, TrainSegments, TrainPayload, out string detail, iovecPerDatagram)
            ?? throw new InvalidOperationException("the C GSO loop failed: " + detail);
        (double received, long drops, long reads) = receiver.Rate(run.StartNs, run.EndNs);
        return new SendRun(run.Pps, received, string.Create(CultureInfo.InvariantCulture,
            $"{run.Pps:N0} sent/s, CPU {SendCpu} FIFO {Priority}; far side {received:N0}/s in {reads:N0} reads, {drops:N0} socket drops (skbs: a train counts once){(detail.Length > 0 ? "; " + detail : "")}"));
    }

    /// <summary>The throughput part's channel and feeder (batches of 64 due now), with GSO and timing as given, no stamps.</summary>
    private SendRun EngineSend(EngineConnection client, NetPath path, IPEndPoint remote, GsoMode gso, TimingStrategy timing, FarReceiver receiver, DataPath dataPath = DataPath.Socket)
    {
        ChannelConfig config = Sender(NextId(), $"bench-trains-{dataPath.ToString().ToLowerInvariant()}-{gso.ToString().ToLowerInvariant()}-{timing.ToString().ToLowerInvariant()}", remote) with
        {
            DataPath = dataPath,
            Local = new IPEndPoint(path.SenderAddress, 0),
            Capacity = 65536,
            TxRingBytes = 16 << 20,
            Priority = Priority,
            Timestamps = TimestampMode.Off,
            Gso = gso,
            Timing = timing,
        };
        using ChannelHandle channel = client.CreateChannel(config);
        client.StartChannel(channel.Id);
        ChannelStats before;
        ChannelStats after;
        long t0;
        long t1;
        (double received, long drops, long reads) far;
        using (var feeder = new Feeder(channel, cpu: FarCpu))
        {
            Thread.Sleep(500);
            before = channel.ReadStats();
            t0 = Libc.MonotonicNow();
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            after = channel.ReadStats();
            t1 = Libc.MonotonicNow();
            far = receiver.Rate(t0, t1);
            feeder.Stop();
        }
        ChannelModeBlock mode = channel.Region.Mode;
        client.DeleteChannel(channel.Id);

        long Delta(ChannelCounter counter) => after[counter] - before[counter];
        double elapsed = (t1 - t0) / 1e9;
        long sent = Delta(ChannelCounter.Sent);
        long calls = Delta(ChannelCounter.SendCalls);
        long trains = Delta(ChannelCounter.GsoTrains);
        long trainPackets = Delta(ChannelCounter.GsoTrainPackets);
        var state = (GsoState)mode.Gso;
        string gsoText = state switch
        {
            GsoState.Off => "gso off",
            GsoState.Trains => $"gso trains (max {mode.GsoMaxSegments})",
            _ => $"gso FELL BACK (errno {mode.GsoErrno}), {Delta(ChannelCounter.GsoRefused)} trains refused",
        };
        if (dataPath == DataPath.Xdp)
        {
            gsoText = $"xdp queue {mode.XdpQueue}, zero-copy {(mode.XdpZeroCopy != 0 ? "on" : "off")}, {Delta(ChannelCounter.TxXdpRingFullWaits):N0} ring-full waits";
        }
        string errors = after.SendErrnos.Count == 0 ? "none" : string.Join(",", after.SendErrnos.Select(e => $"{e.Key}x{e.Value}"));
        string notes = mode.NotesText;
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"{gsoText}{(mode.Bulk != 0 ? ", bulk" : "")}: {trains:N0} trains carried {trainPackets:N0} of {sent:N0} packets ({(trains > 0 ? trainPackets / (double)trains : 0):0.0} a train), {sent / (double)Math.Max(1, calls):0.0} pkts per send call{(dataPath == DataPath.Xdp ? " (xdp: per batch published, kicks not counted)" : "")}; worker parked {Delta(ChannelCounter.SendWaits)}x (ring empty), feeder met a full ring {Delta(ChannelCounter.RejectedFull)}x, errnos {errors}; far side {far.received:N0}/s in {far.reads:N0} reads, {far.drops:N0} socket drops (skbs){(notes.Length > 0 ? "; notes: " + notes : "")}");
        return new SendRun(sent / elapsed, far.received, detail);
    }

    // ---------------------------------------------------------------- GRO on receive

    /// <summary>
    /// The C GSO loop flat out (CPU 0, SCHED_OTHER: CPU 0 also runs the drainer) into an engine receive channel
    /// (CPU 1, FIFO 80, batch 64) with gro off, on, off, on; packets/s by the channel's Received counter.
    /// </summary>
    private void GroReceive(NetPath path)
    {
        using var session = new Session(_engineLog, path.ReceiverSide);
        ReceiveRun off1 = EngineReceive(session.Client, path, GroMode.Off);
        ReceiveRun on1 = EngineReceive(session.Client, path, GroMode.On);
        ReceiveRun off2 = EngineReceive(session.Client, path, GroMode.Off);
        ReceiveRun on2 = EngineReceive(session.Client, path, GroMode.On);
        double on = (on1.Received + on2.Received) / 2;
        double off = (off1.Received + off2.Received) / 2;
        string part = "gro " + path.Name;
        Rows.Add(new Row(part, $"{TrainPayload}-byte pkt/s RECEIVED by an engine receive channel (CPU {SendCpu} FIFO {Priority}, batch 64) from the C GSO loop flat out ({TrainSegments} x {TrainPayload} B, CPU {FarCpu}), gro on, {S}",
            $"{F(on, "N0")} ({F(on1.Received, "N0")} / {F(on2.Received, "N0")})", $"{F(off, "N0")} gro off ({F(off1.Received, "N0")} / {F(off2.Received, "N0")})",
            Ratio(on, off), "- (GRO against without)", ""));
        foreach ((string what, ReceiveRun run) in new[] { ("gro off, 1st", off1), ("gro on, 1st", on1), ("gro off, 2nd", off2), ("gro on, 2nd", on2) })
        {
            Rows.Add(new Row(part, what + " detail", run.Detail, "", "", "", ""));
        }
    }

    /// <summary>
    /// Creates and starts a receive channel, drains it on <see cref="FarCpu"/>, feeds it from the C GSO loop flat out for
    /// the run's duration from <paramref name="senderSide"/>'s namespace, and deletes it: its counters around the
    /// run, the sender's figures and the mode the channel ran in.
    /// </summary>
    private (ChannelStats Before, ChannelStats After, GsoRun Sender, ChannelModeBlock Mode, string SenderDetail) FedByCGso(EngineConnection client, ChannelConfig config, IPEndPoint destination, IReadOnlyList<string>? senderSide)
    {
        using ChannelHandle channel = client.CreateChannel(config);
        client.StartChannel(channel.Id);
        ChannelStats before;
        ChannelStats after;
        GsoRun? run;
        string senderDetail;
        using (var drainer = new RxDrainer(channel, FarCpu))
        {
            Thread.Sleep(300);
            before = channel.ReadStats();
            run = references.Gso(new IPEndPoint(destination.Address, channel.BoundLocal.Port), senderSide, FarCpu, 0, seconds, TrainSegments, TrainPayload, out senderDetail);
            Thread.Sleep(200); // what the socket still holds is read
            after = channel.ReadStats();
            drainer.Stop();
        }
        ChannelModeBlock mode = channel.Region.Mode;
        client.DeleteChannel(channel.Id);
        if (run is not { } sender)
        {
            throw new InvalidOperationException("the C GSO loop failed: " + senderDetail);
        }
        return (before, after, sender, mode, senderDetail);
    }

    private ReceiveRun EngineReceive(EngineConnection client, NetPath path, GroMode gro)
    {
        ChannelConfig config = new()
        {
            Id = NextId(),
            Name = $"bench-gro-{gro.ToString().ToLowerInvariant()}",
            Direction = ChannelDirection.Receive,
            Local = new IPEndPoint(path.ReceiverAddress, 0),
            MaxPayload = TrainPayload,
            RxRingBytes = 32 << 20,
            ReceiveCpu = SendCpu,
            Priority = Priority,
            BatchSize = 64,
            Timestamps = TimestampMode.Off,
            Gro = gro,
        };
        (ChannelStats before, ChannelStats after, GsoRun sender, ChannelModeBlock mode, string senderDetail) = FedByCGso(client, config, new IPEndPoint(path.ReceiverAddress, 0), path.SenderSide);

        long Delta(ChannelCounter counter) => after[counter] - before[counter];
        double elapsed = (sender.EndNs - sender.StartNs) / 1e9;
        long received = Delta(ChannelCounter.Received);
        long coalesced = Delta(ChannelCounter.RxCoalesced);
        long coalescedPackets = Delta(ChannelCounter.RxCoalescedPackets);
        long calls = Delta(ChannelCounter.RxCalls);
        string notes = mode.NotesText;
        string detail = string.Create(CultureInfo.InvariantCulture,
            $"gro {(mode.Gro != 0 ? "on" : "off")} in effect; C loop sent {sender.Sent:N0} ({sender.Pps:N0}/s), engine received {received:N0} ({received / (double)Math.Max(1, sender.Sent):P1}), kernel drops {Delta(ChannelCounter.RxDroppedKernel):N0} (skbs: a train counts once), {coalesced:N0} coalesced reads carried {coalescedPackets:N0} packets ({(coalesced > 0 ? coalescedPackets / (double)coalesced : 0):0.0} each), {received / (double)Math.Max(1, calls):0.0} packets per recvmmsg, ring overflow {Delta(ChannelCounter.RxDroppedOverflow):N0}{(senderDetail.Length > 0 ? "; " + senderDetail : "")}{(notes.Length > 0 ? "; notes: " + notes : "")}");
        return new ReceiveRun(received / elapsed, sender.Pps, detail);
    }

    // ---------------------------------------------------------------- busy-poll round trips

    /// <summary>
    /// The rtt part's engine round trip with the reflector busy-polling, three times, each between two sockperf
    /// ping-pong runs: sockperf, engine, sockperf, engine, sockperf, engine, sockperf. Each engine run is held to
    /// the better of the sockperf runs on either side of it, at each percentile.
    /// </summary>
    private void BusyPollRoundTrips()
    {
        const int Runs = 3;
        const string Part = "busy-poll rtt";
        string? sockperf = Which("sockperf");
        string? taskset = Which("taskset");
        string? chrt = Which("chrt");
        if (sockperf is null || taskset is null || chrt is null)
        {
            Rows.Add(new Row(Part, "reflector round trip with busy-poll", "n/a", "sockperf not installed (apt-get install sockperf)", "n/a", "p50, p99 <= 1.2x, 3 of 3", "?"));
            return;
        }
        var pings = new Percentiles?[Runs + 1];
        var referenceDetails = new string[Runs + 1];
        pings[0] = SockperfPingPong(sockperf, taskset, chrt, out referenceDetails[0]);
        int met = 0;
        var rows = new List<Row>();
        for (int i = 1; i <= Runs; i++)
        {
            (Percentiles engine, string detail) = EngineRoundTrip(busyPoll: true);
            pings[i] = SockperfPingPong(sockperf, taskset, chrt, out referenceDetails[i]);
            string what = $"run {i}: {RttPayload}-byte round trip p50/p99/p99.9/max us, reflector busy-poll (CPU {ReflectorCpu}), pinger CPU {PingerCpu}, FIFO 80 ({S})";
            if (pings[i - 1] is { Count: > 0 } b && pings[i] is { Count: > 0 } a && engine.Count > 0)
            {
                var reference = new Percentiles(b.Count + a.Count, Math.Min(b.P50, a.P50), Math.Min(b.P99, a.P99), Math.Min(b.P999, a.P999), Math.Min(b.Max, a.Max));
                double r50 = (double)engine.P50 / reference.P50;
                double r99 = (double)engine.P99 / reference.P99;
                bool ok = r50 <= 1.2 && r99 <= 1.2;
                met += ok ? 1 : 0;
                rows.Add(new Row(Part, what, engine.Format(), $"{reference.Format()} (sockperf ping-pong --full-rtt, best of before {b.Format()} / after {a.Format()})",
                    $"p50 {F(r50, "0.00")}x, p99 {F(r99, "0.00")}x", "p50, p99 <= 1.2x", Verdict(ok)));
            }
            else
            {
                rows.Add(new Row(Part, what, engine.Format(), $"n/a ({referenceDetails[i - 1]} / {referenceDetails[i]})", "n/a", "p50, p99 <= 1.2x", "?"));
            }
            rows.Add(new Row(Part, $"run {i} engine detail", detail, $"{referenceDetails[i - 1]} / {referenceDetails[i]}", "", "", ""));
        }
        Rows.AddRange(rows);
        Rows.Add(new Row(Part, "runs that met the goal", $"{met} of {Runs}", "", "", "3 of 3", Verdict(met == Runs)));
    }
}
