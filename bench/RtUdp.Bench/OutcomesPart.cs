using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.V1;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>
/// Part 8: what watching outcomes costs. The throughput part's channel (64 B, batch 64, CPU 1 FIFO), made by
/// rtudpd and fed flat out from this process through the channel's file, with no WatchOutcomes subscriber,
/// with one taking every outcome, and with one filtered to the abnormal ones (none here: the late tolerance is
/// 10 s), interleaved twice on one daemon so that the machine's drift hits every variant alike.
/// </summary>
internal sealed partial class Parts
{
    public void Outcomes()
    {
        using Socket sink = Sink();
        IPEndPoint remote = EndPoint(sink);
        using DaemonProcess daemon = DaemonProcess.Start(_engineLog);
        var runs = new Dictionary<string, List<(double Pps, string Detail)>> { ["none"] = [], ["all"] = [], ["abnormal"] = [] };
        for (int round = 0; round < 2; round++)
        {
            foreach (string variant in new[] { "none", "all", "abnormal" })
            {
                runs[variant].Add(OutcomeRun(daemon, remote, variant));
            }
        }
        double none = runs["none"].Average(r => r.Pps);
        double all = runs["all"].Average(r => r.Pps);
        double abnormal = runs["abnormal"].Average(r => r.Pps);
        string Detail(string v) => string.Join("; ", runs[v].Select(r => $"{F(r.Pps, "N0")}/s {r.Detail}"));
        Rows.Add(new Row("8 outcomes", $"64-byte packets/s sent, no subscriber (CPU {SendCpu} FIFO {Priority}, batch 64, 2 x {S}: {Detail("none")})", F(none, "N0"), "-", "-", "as before this issue (part 1)", "-"));
        Rows.Add(new Row("8 outcomes", $"the same, one WatchOutcomes subscriber taking every outcome ({Detail("all")})", F(all, "N0"), F(none, "N0") + " (no subscriber)", Ratio(all, none), ">= 0.8x", Verdict(all >= none * 0.8)));
        Rows.Add(new Row("8 outcomes", $"the same, one subscriber filtered to abnormal outcomes ({Detail("abnormal")})", F(abnormal, "N0"), F(none, "N0") + " (no subscriber)", Ratio(abnormal, none), ">= 0.95x", Verdict(abnormal >= none * 0.95)));
    }

    private (double Pps, string Detail) OutcomeRun(DaemonProcess daemon, IPEndPoint remote, string variant)
    {
        Channel config = IngestChannel(remote, SendCpu, Priority);
        config.LateToleranceNs = 10_000_000_000;
        Channel channel = daemon.Create(NextGrpcId("outcomes"), config);
        using ChannelHandle handle = ChannelHandle.Open(Path.Combine(daemon.EngineDirectory, $"channel-{channel.EngineId}.shm"));
        using var stop = new CancellationTokenSource();
        long delivered = 0, missed = 0;
        Task? subscriber = null;
        if (variant != "none")
        {
            AsyncServerStreamingCall<WatchOutcomesResponse> call = daemon.Packets.WatchOutcomes(new WatchOutcomesRequest { Channel = channel.Name, OnlyAbnormal = variant == "abnormal", MaxBatch = 4096 }, cancellationToken: stop.Token);
            call.ResponseStream.MoveNext(stop.Token).GetAwaiter().GetResult(); // the empty first message: subscribed
            subscriber = Task.Run(async () =>
            {
                using (call)
                {
                    try
                    {
                        while (await call.ResponseStream.MoveNext(stop.Token))
                        {
                            foreach (OutcomeRecord r in call.ResponseStream.Current.Records)
                            {
                                if (r.RecordCase == OutcomeRecord.RecordOneofCase.Gap)
                                {
                                    missed += r.Gap.Missed;
                                }
                                else
                                {
                                    delivered++;
                                }
                            }
                        }
                    }
                    catch (Exception e) when (e is OperationCanceledException or RpcException)
                    {
                        // Stopped.
                    }
                }
            });
        }
        using (var feeder = new Feeder(handle, cpu: 0))
        {
            Thread.Sleep(500);
            long sent0 = daemon.GetStats(channel.Name).Tx.Sent;
            long t0 = Libc.MonotonicNow();
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            long sent1 = daemon.GetStats(channel.Name).Tx.Sent;
            long t1 = Libc.MonotonicNow();
            feeder.Stop();
            stop.Cancel();
            subscriber?.Wait(TimeSpan.FromSeconds(10));
            daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
            double pps = (sent1 - sent0) / ((t1 - t0) / 1e9);
            return (pps, variant == "none" ? "" : $"({F(delivered, "N0")} outcomes delivered, {F(missed, "N0")} missed)");
        }
    }
}
