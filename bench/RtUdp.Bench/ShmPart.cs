using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using RtUdp.Core.ShmClient;
using RtUdp.V1;
using static RtUdp.Bench.Util;
using CoreTimestampMode = RtUdp.Core.Contract.Channels.TimestampMode;
using V1ChannelStats = RtUdp.V1.ChannelStats;

namespace RtUdp.Bench;

/// <summary>
/// Part shm (issue 20): a same-host client's ring (<see cref="ShmAttachment"/>) against the engine's direct rate
/// (TryEnqueue from this process into the same kind of channel), and the enqueue cost per packet of
/// <see cref="ShmAttachment.TrySend"/> against one unary gRPC Send per packet, in one run.
/// </summary>
internal sealed partial class Parts
{
    private const int ShmCostSamples = 100_000;
    private const int GrpcCostSamples = 2_000;

    public void Shm()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        (double direct1, string directDetail) = EngineThroughput(remote, CoreTimestampMode.Off);
        double shmPps;
        string shmDetail;
        Percentiles shmCost, grpcCost;
        using (DaemonProcess daemon = DaemonProcess.Start(_engineLog))
        {
            (shmPps, shmDetail) = ShmIngest(daemon, remote);
            shmCost = ShmEnqueueCost(daemon, remote);
            grpcCost = GrpcEnqueueCost(daemon, remote);
        }
        (double direct2, _) = EngineThroughput(remote, CoreTimestampMode.Off);
        double direct = (direct1 + direct2) / 2;
        Rows.Add(new Row("shm", $"64-byte packets/s on the wire through one client ring (ShmAttachment.TryWrite x 64 due now + Publish, feeder on CPU 0, gso off), channel CPU {SendCpu} FIFO {Priority}, batch 64, no stamps; {S}",
            F(shmPps, "N0"), $"{F(direct, "N0")} (engine direct: TryEnqueue from the bench, before/after: {F(direct1, "N0")} / {F(direct2, "N0")})",
            Ratio(shmPps, direct), ">= 0.90x", Verdict(shmPps >= 0.9 * direct)));
        Rows.Add(new Row("shm", "client ring detail", shmDetail, "engine direct (before): " + directDetail, "", "", ""));
        Rows.Add(new Row("shm", $"enqueue cost per packet, p50 / p99 (ns): ShmAttachment.TrySend (64 B, IMMEDIATE) x {ShmCostSamples:N0}",
            $"{shmCost.P50} / {shmCost.P99}", $"{grpcCost.P50} / {grpcCost.P99} (one unary gRPC Send per packet over the unix socket, x {GrpcCostSamples:N0})",
            $"{Ratio(grpcCost.P50, shmCost.P50)} / {Ratio(grpcCost.P99, shmCost.P99)} faster", "C <= 500 ns p50 (this is the C# call librtudp wraps)", Verdict(shmCost.P50 <= 500)));
    }

    private (double Pps, string Detail) ShmIngest(DaemonProcess daemon, IPEndPoint remote)
    {
        // As the direct run's channel: sendmmsg (no GSO trains), due now.
        Channel config = IngestChannel(remote, SendCpu, Priority);
        config.Gso = RtUdp.V1.GsoMode.Off;
        Channel channel = daemon.Create(NextGrpcId("shm"), config);
        using ShmClient client = ShmClient.Connect(Path.Combine(daemon.Root, ShmAbi.SocketFileName));
        ShmAttachment attachment = client.Attach(channel.Name, ShmAbi.AttachSend, txRingBytes: 16 << 20);
        long written = 0, full = 0;
        var stop = new ManualResetEventSlim();
        var feeder = new Thread(() =>
        {
            Pin(0);
            byte[] payload = new byte[64];
            while (!stop.IsSet)
            {
                long now = Libc.MonotonicNow();
                int n = 0;
                for (; n < 64; n++)
                {
                    if (attachment.TryWrite(payload, now, 0, 0) != ShmStatus.Ok)
                    {
                        break;
                    }
                }
                attachment.Publish();
                written += n;
                if (n < 64)
                {
                    // Full: the ring holds far more than a millisecond of packets (as the direct feeder backs off).
                    full++;
                    Thread.Sleep(1);
                }
            }
        }) { Name = "bench-shm-feeder", IsBackground = true };
        feeder.Start();
        Thread.Sleep(500);
        V1ChannelStats before = daemon.GetStats(channel.Name);
        long t0 = Libc.MonotonicNow();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        V1ChannelStats after = daemon.GetStats(channel.Name);
        long t1 = Libc.MonotonicNow();
        stop.Set();
        feeder.Join();
        ShmStats stats = attachment.ReadStats();
        attachment.Detach();
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        double elapsed = (t1 - t0) / 1e9;
        long sent = after.Tx.Sent - before.Tx.Sent;
        string detail = $"sent {sent:N0} in {elapsed:0.00} s; client wrote {written:N0}, ring full {full:N0} times, accepted {stats.TxAccepted:N0}, throttled {stats.TxThrottled:N0}, malformed {stats.TxMalformed:N0}";
        return (sent / elapsed, detail);
    }

    private Percentiles ShmEnqueueCost(DaemonProcess daemon, IPEndPoint remote)
    {
        Channel channel = daemon.Create(NextGrpcId("shm-cost"), IngestChannel(remote, SendCpu, Priority));
        using ShmClient client = ShmClient.Connect(Path.Combine(daemon.Root, ShmAbi.SocketFileName));
        ShmAttachment attachment = client.Attach(channel.Name, ShmAbi.AttachSend, txRingBytes: 16 << 20);
        Pin(0);
        try
        {
            byte[] payload = new byte[64];
            long[] costs = new long[ShmCostSamples];
            for (int i = 0; i < costs.Length; i++)
            {
                long start = Stopwatch.GetTimestamp();
                ShmStatus status = attachment.TrySend(payload, 0, 0, ShmAbi.SendImmediate);
                long end = Stopwatch.GetTimestamp();
                if (status != ShmStatus.Ok)
                {
                    // Full (16 MiB holds ~170,000 records: not expected); wait for the engine and measure again.
                    Thread.Sleep(1);
                    i--;
                    continue;
                }
                costs[i] = (end - start) * 1_000_000_000 / Stopwatch.Frequency;
            }
            return Percentiles.Of(costs);
        }
        finally
        {
            Unpin();
            attachment.Detach();
            daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        }
    }

    private Percentiles GrpcEnqueueCost(DaemonProcess daemon, IPEndPoint remote)
    {
        Channel channel = daemon.Create(NextGrpcId("grpc-cost"), IngestChannel(remote, SendCpu, Priority));
        ByteString payload = ByteString.CopyFrom(new byte[64]);
        long[] costs = new long[GrpcCostSamples];
        for (int i = -200; i < costs.Length; i++)
        {
            var request = new SendRequest { Channel = channel.Name };
            request.Packets.Add(new OutgoingPacket { Payload = payload }); // no time: as soon as possible
            long start = Stopwatch.GetTimestamp();
            daemon.Packets.Send(request);
            long end = Stopwatch.GetTimestamp();
            if (i >= 0)
            {
                // The first 200 warm the connection and both processes' code paths.
                costs[i] = (end - start) * 1_000_000_000 / Stopwatch.Frequency;
            }
        }
        daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        return Percentiles.Of(costs);
    }
}
