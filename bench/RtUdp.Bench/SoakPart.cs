using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.V1;
using static RtUdp.Bench.Util;
using V1ChannelStats = RtUdp.V1.ChannelStats;

namespace RtUdp.Bench;

/// <summary>
/// Part "soak" (not in "all", not in CI): the real rtudpd carries a loopback flow (a sending channel to a
/// receiving channel of the same daemon, fed by SendStream and drained by ReceiveStream) at half the rate
/// it reaches flat out, for a long time (10 minutes unless --duration). It reports the resident memory,
/// open file descriptors and threads of rtudpd and of its engine after the warm-up and at the end, and
/// every packet's fate: the counters must balance with nothing uncounted.
/// </summary>
internal sealed partial class Parts
{
    public const double DefaultSoakSeconds = 600;

    private const int SoakBatch = 64;

    public void Soak(double soakSeconds)
    {
        using DaemonProcess daemon = DaemonProcess.Start(_engineLog);
        Channel rx = daemon.Create("soak-rx", new Channel
        {
            Direction = ChannelDirection.Receive,
            Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
            Capacity = 65536,
            MaxPayload = 64,
            RxRingBytes = 16 << 20,
            Priority = 0,
            SocketBufferBytes = 8 << 20,
        });
        Channel tx = daemon.Create("soak-tx", new Channel
        {
            Direction = ChannelDirection.Send,
            Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
            Remote = rx.BoundLocal,
            Capacity = 65536,
            MaxPayload = 64,
            TxRingBytes = 16 << 20,
            Priority = 0,
            BatchSize = 64,
            Timestamps = RtUdp.V1.TimestampMode.Off,
        });
        int enginePid = EngineChildOf(daemon.Pid);
        using var drain = new Drainer(daemon.Packets, rx.Name);

        // The maximum: flat out for 3 s (what reaches the receiver and is drained), then half of it.
        long accepted = 0;
        double max;
        using (var ingest = new GrpcIngest(daemon.Packets, tx.Name, 2, 256))
        {
            Thread.Sleep(1000);
            long d0 = drain.Count;
            var clock = Stopwatch.StartNew();
            Thread.Sleep(3000);
            max = (drain.Count - d0) / clock.Elapsed.TotalSeconds;
            ingest.Stop();
            accepted += ingest.Accepted;
        }
        double rate = Math.Max(1000, max / 2);
        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] soak: maximum {max:N0} pkts/s drained; soaking at {rate:N0} pkts/s for {soakSeconds:0} s");

        long rcvbufErrors0 = UdpRcvbufErrors();
        using var feed = new PacedFeeder(daemon.Packets, tx.Name, rate);
        double warmUp = Math.Min(30, soakSeconds / 10);
        Thread.Sleep(TimeSpan.FromSeconds(warmUp));
        Resources daemonStart = Resources.Of(daemon.Pid);
        Resources engineStart = Resources.Of(enginePid);
        long fed0 = feed.Accepted;
        var soak = Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(Math.Max(1, soakSeconds - warmUp)));
        Resources daemonEnd = Resources.Of(daemon.Pid);
        Resources engineEnd = Resources.Of(enginePid);
        double soaked = soak.Elapsed.TotalSeconds;
        double fedRate = (feed.Accepted - fed0) / soaked;
        feed.Stop();
        accepted += feed.Accepted;

        // Quiet: the sender has nothing pending and the receiver has taken and the client drained everything.
        V1ChannelStats txStats = WaitStats(daemon, tx.Name, s => s.Tx.Pending == 0 && s.Tx.Balanced);
        long drainedBefore;
        V1ChannelStats rxStats;
        do
        {
            drainedBefore = drain.Count;
            Thread.Sleep(500);
            rxStats = daemon.GetStats(rx.Name);
        }
        while (drain.Count != drainedBefore || rxStats.Rx.Buffered != 0);
        rxStats = WaitStats(daemon, rx.Name, s => s.Rx.Balanced);
        drain.Stop();

        long rcvbufErrors = UdpRcvbufErrors() - rcvbufErrors0;
        TxAccounting t = txStats.Tx;
        RxAccounting r = rxStats.Rx;
        long uncountedTx = t.Enqueued - (t.Sent + t.DroppedLate + t.DroppedError + t.DroppedStopped + t.Pending);
        long uncountedRx = r.Received - (r.Drained + r.DroppedOverflow + r.DroppedTruncated + r.Buffered);
        long notEnqueued = accepted - t.Enqueued;
        long clientGap = r.Drained - drain.Count;
        // Loopback loses nothing between the sockets except what the kernel drops at the receiving one, which the engine counts.
        long uncountedKernel = t.Sent - (r.Received + r.DroppedKernel);
        bool counted = uncountedTx == 0 && uncountedRx == 0 && notEnqueued == 0 && clientGap == 0 && uncountedKernel == 0;
        string S2 = F(soaked, "0") + " s";
        Rows.Add(new Row("soak", $"loopback flow through rtudpd at half its maximum ({F(max, "N0")} pkts/s drained flat out): {F(fedRate, "N0")} pkts/s for {S2} after {F(warmUp, "0")} s warm-up",
            $"enqueued {t.Enqueued:N0}, sent {t.Sent:N0}, dropped late/error/stopped {t.DroppedLate}/{t.DroppedError}/{t.DroppedStopped}, pending {t.Pending}; received {r.Received:N0}, drained {r.Drained:N0}, dropped overflow/truncated {r.DroppedOverflow}/{r.DroppedTruncated}, buffered {r.Buffered}",
            $"client: accepted {accepted:N0}, drained {drain.Count:N0}; lost between the sockets: {t.Sent - r.Received:N0}, of which the engine counted {r.DroppedKernel:N0} dropped by the kernel at its socket (rx dropped_kernel; host-wide UDP RcvbufErrors rose by {rcvbufErrors:N0} during the paced run)",
            "", "uncounted 0", Verdict(counted)));
        Rows.Add(new Row("soak", "uncounted packets (TX sum, RX sum, accepted vs enqueued, drained vs client, sent vs received + kernel drops)", $"{uncountedTx} / {uncountedRx} / {notEnqueued} / {clientGap} / {uncountedKernel}", "", "", "0 / 0 / 0 / 0 / 0", Verdict(counted)));
        Rows.Add(ResourceRow("rtudpd", daemonStart, daemonEnd, rssSlack: 0.20, fdSlack: 4, threadSlack: 8));
        Rows.Add(ResourceRow("rtudp-engine", engineStart, engineEnd, rssSlack: 0.02, fdSlack: 0, threadSlack: 0));
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = tx.Name });
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = rx.Name });
    }

    private static Row ResourceRow(string process, Resources start, Resources end, double rssSlack, int fdSlack, int threadSlack)
    {
        bool ok = end.RssKiB <= start.RssKiB * (1 + rssSlack) && end.Fds <= start.Fds + fdSlack && end.Threads <= start.Threads + threadSlack;
        return new Row("soak", $"{process}: RSS KiB / open fds / threads, after warm-up -> end",
            $"{end.RssKiB:N0} / {end.Fds} / {end.Threads}", $"{start.RssKiB:N0} / {start.Fds} / {start.Threads} (start)",
            Ratio(end.RssKiB, start.RssKiB) + " RSS",
            $"RSS <= +{rssSlack * 100:0}%, fds <= +{fdSlack}, threads <= +{threadSlack}", Verdict(ok));
    }

    private static V1ChannelStats WaitStats(DaemonProcess daemon, string name, Func<V1ChannelStats, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        V1ChannelStats stats;
        while (!condition(stats = daemon.GetStats(name)) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(50);
        }
        return stats;
    }

    /// <summary>The kernel's host-wide count of UDP datagrams dropped because a socket's receive buffer was full (/proc/net/snmp).</summary>
    private static long UdpRcvbufErrors()
    {
        string[] lines = [.. File.ReadLines("/proc/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal))];
        string[] names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(values[Array.IndexOf(names, "RcvbufErrors")], CultureInfo.InvariantCulture);
    }

    /// <summary>The engine: rtudpd's child whose command line names rtudp-engine.</summary>
    private static int EngineChildOf(int daemonPid)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            foreach (string dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out int pid))
                {
                    continue;
                }
                try
                {
                    string stat = File.ReadAllText($"{dir}/stat");
                    string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (int.Parse(fields[1], CultureInfo.InvariantCulture) == daemonPid && File.ReadAllText($"{dir}/cmdline").Contains("rtudp-engine", StringComparison.Ordinal))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                }
            }
            Thread.Sleep(100);
        }
        throw new InvalidOperationException($"no rtudp-engine child of rtudpd {daemonPid}");
    }

    /// <summary>VmRSS, open descriptors and threads of a process, from /proc.</summary>
    private readonly record struct Resources(long RssKiB, int Fds, int Threads)
    {
        public static Resources Of(int pid)
        {
            long rss = 0;
            int threads = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
            }
            return new Resources(rss, Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length, threads);
        }
    }

    /// <summary>One SendStream at a fixed rate: every 10 ms it writes what the rate owes so far, in messages of up to 64 packets.</summary>
    private sealed class PacedFeeder : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<long> _run;
        private long _accepted;
        private long _written;

        public PacedFeeder(PacketService.PacketServiceClient client, string channel, double rate)
        {
            _run = Task.Run(() => RunAsync(client, channel, rate));
        }

        /// <summary>Packets written so far (all accepted unless the stream failed; <see cref="Stop"/> takes the daemon's count).</summary>
        public long Accepted => Interlocked.Read(ref _accepted) > 0 ? _accepted : Interlocked.Read(ref _written);

        private async Task<long> RunAsync(PacketService.PacketServiceClient client, string channel, double rate)
        {
            ByteString payload = ByteString.CopyFrom(new byte[64]);
            using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = client.SendStream();
            var clock = Stopwatch.StartNew();
            long written = 0;
            bool first = true;
            while (!_stop.IsCancellationRequested)
            {
                long owed = (long)(clock.Elapsed.TotalSeconds * rate) - written;
                while (owed > 0)
                {
                    int n = (int)Math.Min(owed, SoakBatch);
                    var message = new SendStreamRequest { Channel = first ? channel : "" };
                    for (int i = 0; i < n; i++)
                    {
                        message.Packets.Add(new OutgoingPacket { Payload = payload, PacketId = written + i });
                    }
                    await call.RequestStream.WriteAsync(message).ConfigureAwait(false);
                    first = false;
                    written += n;
                    owed -= n;
                    Interlocked.Exchange(ref _written, written);
                }
                await Task.Delay(10).ConfigureAwait(false);
            }
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return (await call.ResponseAsync.ConfigureAwait(false)).Accepted;
        }

        public void Stop()
        {
            if (!_stop.IsCancellationRequested)
            {
                _stop.Cancel();
                Interlocked.Exchange(ref _accepted, _run.GetAwaiter().GetResult());
            }
        }

        public void Dispose()
        {
            Stop();
            _stop.Dispose();
        }
    }

    /// <summary>A ReceiveStream that counts what it drains.</summary>
    private sealed class Drainer : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _run;
        private long _count;

        public Drainer(PacketService.PacketServiceClient client, string channel)
        {
            _run = Task.Run(async () =>
            {
                using AsyncServerStreamingCall<ReceiveStreamResponse> call = client.ReceiveStream(new ReceiveStreamRequest { Channel = channel, MaxBatch = 1024 }, cancellationToken: _stop.Token);
                try
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token).ConfigureAwait(false))
                    {
                        Interlocked.Add(ref _count, call.ResponseStream.Current.Packets.Count);
                    }
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
                {
                }
                catch (OperationCanceledException)
                {
                }
            });
        }

        public long Count => Interlocked.Read(ref _count);

        public void Stop()
        {
            if (!_stop.IsCancellationRequested)
            {
                _stop.Cancel();
                _run.GetAwaiter().GetResult();
            }
        }

        public void Dispose()
        {
            Stop();
            _stop.Dispose();
        }
    }
}
