using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.V1;
using static RtUdp.Bench.Util;
using CoreTimestampMode = RtUdp.Core.Contract.Channels.TimestampMode;

namespace RtUdp.Bench;

/// <summary>Part 5: packets ingested over gRPC by the real rtudpd, and the engine's timing while that runs.</summary>
internal sealed partial class Parts
{
    /// <summary>Packets per SendStream message.</summary>
    private const int IngestBatch = 256;

    /// <summary>Concurrent SendStream calls (each also has HTTP/2's flow-control window of messages in flight).</summary>
    private const int IngestStreams = 2;

    private int _grpcSerial;

    public void Grpc()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);

        // 5a. Ingest: the engine's direct pps (the throughput part's engine path, its own engine) before
        // and after, the daemon's end-to-end pps in between.
        (double direct1, string directDetail) = EngineThroughput(remote, CoreTimestampMode.Off);
        double grpcPps;
        string grpcDetail;
        using (DaemonProcess daemon = DaemonProcess.Start(_engineLog))
        {
            (grpcPps, grpcDetail) = GrpcIngest(daemon, remote);
        }
        (double direct2, _) = EngineThroughput(remote, CoreTimestampMode.Off);
        double direct = (direct1 + direct2) / 2;
        Rows.Add(new Row("5 grpc", $"64-byte packets/s on the wire, ingested by rtudpd over its unix socket: {IngestStreams} SendStream calls x {IngestBatch} packets/message due now; channel CPU {SendCpu} FIFO {Priority}, batch 64, 16 MiB ring, no stamps; {S}",
            F(grpcPps, "N0"), $"{F(direct, "N0")} (engine direct: TryEnqueue from the bench, same channel settings, before/after: {F(direct1, "N0")} / {F(direct2, "N0")})",
            Ratio(grpcPps, direct), ">= 0.70x", Verdict(grpcPps >= 0.7 * direct)));
        Rows.Add(new Row("5 grpc", "ingest detail", grpcDetail, "engine direct (before): " + directDetail, "", "", ""));

        // 5b. Timing: a 1 kHz Hybrid channel of the same daemon, idle, under full-rate ingest on another
        // channel (worker on CPU 0, SCHED_OTHER), idle again. rtudpd as deployed (every CPU), then
        // confined to CPU 0 the way a unit's CPUAffinity= would keep it off the real-time CPU.
        TimingUnderIngest(remote, confine: null);
        TimingUnderIngest(remote, confine: 0);
    }

    private void TimingUnderIngest(IPEndPoint remote, int? confine)
    {
        if (confine is null)
        {
            TimingUnderIngestRun(remote, null);
            return;
        }
        // The bench process (the gRPC client) too: every thread of it, restored after.
        ConfineProcess(confine);
        try
        {
            TimingUnderIngestRun(remote, confine);
        }
        finally
        {
            ConfineProcess(null);
        }
    }

    private void TimingUnderIngestRun(IPEndPoint remote, int? confine)
    {
        using DaemonProcess daemon = DaemonProcess.Start(_engineLog, confine);
        if (confine is { } only)
        {
            ConfineProcess(only); // Start unpinned the calling thread after the fork
        }
        string where = confine is { } c ? $"rtudpd and the bench's gRPC client confined to CPU {c}" : "rtudpd and the client on every CPU (as run.sh and the unit run rtudpd)";
        Percentiles idle = DaemonTiming(daemon, remote, out string idleDetail);
        Channel feed = daemon.Create(NextGrpcId("ingest-other"), IngestChannel(remote, cpu: 0, priority: 0));
        Percentiles loaded;
        string loadedDetail;
        string load;
        using (var ingest = new GrpcIngest(daemon.Packets, feed.Name, IngestStreams, IngestBatch))
        {
            Thread.Sleep(1000);
            long sent0 = daemon.GetStats(feed.Name).Tx.Sent;
            long t0 = Libc.MonotonicNow();
            double cpu0 = daemon.CpuSeconds();
            loaded = DaemonTiming(daemon, remote, out loadedDetail);
            double cpu1 = daemon.CpuSeconds();
            long t1 = Libc.MonotonicNow();
            long sent1 = daemon.GetStats(feed.Name).Tx.Sent;
            ingest.Stop();
            double elapsed = (t1 - t0) / 1e9;
            load = $"{where}: ingest channel (CPU 0, SCHED_OTHER) sent {F((sent1 - sent0) / elapsed, "N0")} pkts/s during the loaded run; rtudpd used {F((cpu1 - cpu0) / elapsed * 100, "0")}% of a CPU; {ingest.Summary()}";
        }
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = feed.Name });
        Percentiles idleAfter = DaemonTiming(daemon, remote, out string idleAfterDetail);
        idleDetail += idleAfterDetail;
        long idleP999 = (idle.P999 + idleAfter.P999) / 2;
        string measure = confine is null
            ? $"1 kHz Hybrid (margin 100 us, CPU {SendCpu} FIFO {Priority}) send error p50/p99/p99.9/max us, channel of rtudpd, under full-rate gRPC ingest ({S}){loadedDetail}"
            : $"the same with rtudpd and the gRPC client confined to CPU {confine}, off the timing CPU (as CPUAffinity= or isolcpus would) ({S}){loadedDetail}";
        Rows.Add(new Row("5 grpc", measure,
            loaded.Format(), $"{idle.Format()} before, {idleAfter.Format()} after (same daemon, idle){idleDetail}",
            "p99.9 " + Ratio(loaded.P999, idleP999) + " of idle mean", "p99.9 <= 1.25x idle", confine is null ? Verdict(loaded.P999 <= idleP999 * 1.25) : "- (diagnostic)"));
        Rows.Add(new Row("5 grpc", "load applied during the run", load, "", "", "", ""));
    }

    private string NextGrpcId(string prefix) => $"bench-{prefix}-{++_grpcSerial}";

    /// <summary>The throughput part's channel settings, over the API.</summary>
    private static Channel IngestChannel(IPEndPoint remote, int cpu, int priority) => new()
    {
        Direction = ChannelDirection.Send,
        Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
        Remote = new Endpoint { Address = remote.Address.ToString(), Port = (uint)remote.Port },
        MaxPayload = 64,
        Capacity = 65536,
        TxRingBytes = 16 << 20,
        SendCpu = cpu,
        Priority = priority,
        Timing = RtUdp.V1.TimingStrategy.Hybrid,
        SpinMarginNs = HybridMarginNs,
        BatchSize = 64,
        Timestamps = RtUdp.V1.TimestampMode.Off,
    };

    private (double Pps, string Detail) GrpcIngest(DaemonProcess daemon, IPEndPoint remote)
    {
        Channel channel = daemon.Create(NextGrpcId("ingest"), IngestChannel(remote, SendCpu, Priority));
        string name = channel.Name;
        double pps;
        string detail;
        using (var ingest = new GrpcIngest(daemon.Packets, name, IngestStreams, IngestBatch))
        {
            Thread.Sleep(1000); // warm-up: JIT in both processes, HTTP/2 windows, the ring filled
            V1ChannelStatsSnapshot before = Snapshot(daemon, name);
            double cpu0 = daemon.CpuSeconds();
            double bench0 = DaemonProcess.ProcessCpuSeconds(Environment.ProcessId);
            long messages0 = ingest.Messages;
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            V1ChannelStatsSnapshot after = Snapshot(daemon, name);
            double cpu1 = daemon.CpuSeconds();
            double bench1 = DaemonProcess.ProcessCpuSeconds(Environment.ProcessId);
            long messages1 = ingest.Messages;
            ingest.Stop();
            double elapsed = (after.ReadNs - before.ReadNs) / 1e9;
            long sent = after.Sent - before.Sent;
            pps = sent / elapsed;
            detail = $"{F(sent / (double)Math.Max(1, after.SendCalls - before.SendCalls), "0.0")} pkts/sendmmsg, worker parked {after.Waits - before.Waits}x (ring empty), "
                + $"{F((messages1 - messages0) / elapsed, "N0")} messages/s written; rtudpd used {F((cpu1 - cpu0) / elapsed * 100, "0")}% of a CPU, the bench (gRPC client) {F((bench1 - bench0) / elapsed * 100, "0")}%; {ingest.Summary()}";
        }
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = name });
        return (pps, detail);
    }

    private readonly record struct V1ChannelStatsSnapshot(long ReadNs, long Sent, long SendCalls, long Waits);

    private static V1ChannelStatsSnapshot Snapshot(DaemonProcess daemon, string name)
    {
        RtUdp.V1.ChannelStats stats = daemon.GetStats(name);
        return new(stats.ReadMonotonicNs, stats.Tx.Sent, stats.Counters.GetValueOrDefault("send_calls"), stats.Counters.GetValueOrDefault("send_waits"));
    }

    /// <summary>
    /// The timing part's 1 kHz Hybrid run on a channel of the daemon: every packet enqueued up front
    /// (unary Send, absolute monotonic_ns), then the send-error percentiles from GetHistogram. The channel
    /// has no kernel stamps, so its histogram holds the worker's clock read before the sendmmsg minus the
    /// due time: the figure the timing part takes from the TxReports.
    /// </summary>
    /// <param name="shmSocket">Enqueue through a same-host client ring on this broker socket (part shm) instead of unary Sends.</param>
    private Percentiles DaemonTiming(DaemonProcess daemon, IPEndPoint remote, out string detail, string? shmSocket = null)
    {
        const long PeriodNs = 1_000_000;
        int count = (int)(seconds * 1e9 / PeriodNs);
        Channel config = IngestChannel(remote, SendCpu, Priority);
        config.Capacity = Math.Max(65536, count);
        config.TxRingBytes = 0;
        Channel channel = daemon.Create(NextGrpcId("timing"), config);
        Thread.Sleep(200); // the worker is up, pinned and warmed
        byte[] payload = new byte[64];
        ByteString bytes = ByteString.CopyFrom(payload);
        // Enqueueing over gRPC takes a few ms: the first packet is due 100 ms ahead (the timing part: 10 ms).
        long start = Libc.MonotonicNow() + 100_000_000;
        long enqueueStarted = Libc.MonotonicNow();
        long late = long.MinValue; // the most a batch's answer came after its first packet was due
        if (shmSocket is null)
        {
            for (int i = 0; i < count; i += 1000)
            {
                var request = new SendRequest { Channel = channel.Name };
                for (int j = i; j < Math.Min(count, i + 1000); j++)
                {
                    request.Packets.Add(new OutgoingPacket { Payload = bytes, MonotonicNs = start + (j * PeriodNs), PacketId = j });
                }
                daemon.Packets.Send(request);
                late = Math.Max(late, Libc.MonotonicNow() - (start + (i * PeriodNs)));
            }
        }
        else
        {
            late = ShmEnqueueTimed(shmSocket, channel.Name, payload, start, PeriodNs, count);
        }
        long enqueueNs = Libc.MonotonicNow() - enqueueStarted;
        long deadline = start + (count * PeriodNs) + 2_000_000_000;
        Thread.Sleep(TimeSpan.FromMilliseconds(Math.Max(0, (start + (count * PeriodNs) - Libc.MonotonicNow()) / 1e6)));
        RtUdp.V1.ChannelStats stats;
        do
        {
            stats = daemon.GetStats(channel.Name);
            if (stats.Tx.Pending == 0)
            {
                break;
            }
            Thread.Sleep(20);
        }
        while (Libc.MonotonicNow() < deadline);
        Histogram histogram = daemon.Stats.GetHistogram(new GetHistogramRequest
        {
            Name = channel.Name,
            Kind = HistogramKind.SendError,
            Percentiles = { 50, 99, 99.9, 100 },
        }).Histogram;
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        long notSent = stats.Tx.Enqueued - stats.Tx.Sent;
        long missing = count - stats.Tx.Enqueued;
        var notes = new List<string>();
        if (missing != 0 || notSent != 0)
        {
            notes.Add($"not enqueued {missing}, not sent {notSent}");
        }
        if (late > 0)
        {
            notes.Add($"a batch was enqueued {F(late / 1e6, "0.0")} ms after its first packet was due (enqueueing took {F(enqueueNs / 1e6, "0")} ms)");
        }
        detail = notes.Count == 0 ? "" : $" [{string.Join(", ", notes)}]";
        long At(double p) => histogram.Percentiles.First(x => Math.Abs(x.Percentile_ - p) < 1e-9).ValueNs;
        return new Percentiles(histogram.TotalCount, At(50), At(99), At(99.9), histogram.MaxNs);
    }
}

/// <summary>
/// Client-streaming SendStream callers at full rate: each writes the same message (the channel, then
/// packets with no time: due when the daemon receives them) as fast as the stream takes it. HTTP/2 flow
/// control keeps several messages in flight per stream; the daemon stops reading while the ring is full.
/// </summary>
internal sealed class GrpcIngest : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<(long Accepted, long FullWaits, TimeSpan Waited)>[] _streams;
    private long _messages;
    private string? _summary;

    public GrpcIngest(PacketService.PacketServiceClient client, string channel, int streams, int batch)
    {
        _streams = new Task<(long, long, TimeSpan)>[streams];
        for (int s = 0; s < streams; s++)
        {
            var first = new SendStreamRequest { Channel = channel };
            var rest = new SendStreamRequest();
            ByteString payload = ByteString.CopyFrom(new byte[64]);
            for (int i = 0; i < batch; i++)
            {
                first.Packets.Add(new OutgoingPacket { Payload = payload, PacketId = i });
                rest.Packets.Add(new OutgoingPacket { Payload = payload, PacketId = i });
            }
            _streams[s] = Task.Run(() => RunAsync(client, first, rest));
        }
    }

    public long Messages => Interlocked.Read(ref _messages);

    /// <summary>Packets the daemon accepted over every stream (after <see cref="Stop"/>; 0 if a stream failed).</summary>
    public long Accepted { get; private set; }

    private async Task<(long, long, TimeSpan)> RunAsync(PacketService.PacketServiceClient client, SendStreamRequest first, SendStreamRequest rest)
    {
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = client.SendStream();
        await call.RequestStream.WriteAsync(first).ConfigureAwait(false);
        Interlocked.Increment(ref _messages);
        while (!_stop.IsCancellationRequested)
        {
            await call.RequestStream.WriteAsync(rest).ConfigureAwait(false);
            Interlocked.Increment(ref _messages);
        }
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        SendStreamResponse response = await call.ResponseAsync.ConfigureAwait(false);
        return (response.Accepted, response.FullWaits, response.Waited.ToTimeSpan());
    }

    /// <summary>Ends the streams (each completes and reads the daemon's answer).</summary>
    public void Stop()
    {
        if (_summary is not null)
        {
            return;
        }
        _stop.Cancel();
        try
        {
            Task.WaitAll(_streams, TimeSpan.FromSeconds(60));
            long accepted = _streams.Sum(t => t.Result.Accepted);
            Accepted = accepted;
            long waits = _streams.Sum(t => t.Result.FullWaits);
            double waited = _streams.Sum(t => t.Result.Waited.TotalSeconds);
            _summary = $"streams answered: {accepted:N0} packets accepted, waited for ring space {waits:N0}x ({waited:0.0} s summed over streams)";
        }
        catch (AggregateException e)
        {
            _summary = "a stream failed: " + e.InnerExceptions[0].Message;
        }
    }

    public string Summary()
    {
        Stop();
        return _summary!;
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }
}
