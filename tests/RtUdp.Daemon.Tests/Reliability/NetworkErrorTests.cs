using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// A peer that refuses, through rtudpd: the ICMP error a datagram draws belongs to that datagram, never to
/// the packet sent next. Every packet is sent, and each refusal is counted (stats, metrics) and told to the
/// packet's sender as a network error in its outcomes. Runs as any user (loopback).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class NetworkErrorTests
{
    private static int ClosedPort()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)closed.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task Rtudpctl_sends_to_a_closed_port_lose_nothing_and_stats_count_the_refusals()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        string socket = daemon.Fixture.SocketPath;
        async Task<CtlProcess.Result> Ctl(params string[] args)
        {
            CtlProcess.Result result = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, [.. args, "--socket", socket]);
            Assert.True(result.Exit == 0, $"rtudpctl {string.Join(' ', args)}: {result}");
            return result;
        }
        int port = ClosedPort();
        // The report of the fault, as the user ran it: twice 500 packets at 1000/s to a port nobody listens on.
        // One datagram per packet: a GSO train reaches a loopback peer uncut and draws one ICMP error, not one per packet (docs/gso.md).
        await Ctl("channels", "create", "txc", "--direction", "send", "--remote", $"127.0.0.1:{port}", "--gso", "off");
        await Ctl("send", "txc", "x", "--rate", "1000", "--count", "500");
        await Ctl("send", "txc", "x", "--rate", "1000", "--count", "500");

        V1.ChannelStats stats = await daemon.Unix.WaitStatsAsync("channels/txc", s => s.Tx.Pending == 0 && s.TxNetwork.Refused == 1000, TimeSpan.FromSeconds(20));
        Assert.Equal(1000, stats.Tx.Enqueued);
        Assert.Equal(1000, stats.Tx.Sent);
        Assert.Equal(0, stats.Tx.DroppedError);
        Assert.Equal(0, stats.TxNetwork.DroppedAfterResends);
        // The same payload in every packet: matched by order (the first exactly).
        Assert.Equal(1000, stats.TxNetwork.Exact + stats.TxNetwork.ByOrder);
        Assert.Equal(0, stats.TxNetwork.Unattributed);
        await DaemonAccounting.AssertBalancedAsync(daemon.Unix, "channels/txc");

        string text = (await Ctl("stats", "txc")).Stdout;
        Assert.Contains("network errors (ICMP, for packets sent): refused 1000,", text, StringComparison.Ordinal);
        Assert.Matches(@"tx +1000 +1000 +0 ", text);
    }

    [Fact]
    public async Task Each_refusal_reaches_the_sender_as_its_packets_network_error_after_its_sent_outcome()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("refused"), new Endpoint { Address = "127.0.0.1", Port = (uint)ClosedPort() }, configure: c =>
        {
            c.Flags.Add(ChannelFlag.Sequenced);
            // One datagram per packet: a GSO train reaches a loopback peer uncut and draws one ICMP error (docs/gso.md).
            c.Gso = GsoMode.Off;
        });
        using AsyncServerStreamingCall<WatchOutcomesResponse> watch = api.Packets.WatchOutcomes(new WatchOutcomesRequest { Channel = tx.Name, OnlyMine = true });
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Empty(watch.ResponseStream.Current.Records); // subscribed

        const int Count = 100;
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < Count; i++)
        {
            request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[64]), Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(50 + (i * 2))), PacketId = i + 1 });
        }
        await api.Packets.SendAsync(request);

        var records = new List<OutcomeRecord>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            while (records.Count(r => r.RecordCase == OutcomeRecord.RecordOneofCase.NetworkError) < Count)
            {
                Assert.True(await watch.ResponseStream.MoveNext(timeout.Token), $"the stream ended after {records.Count} records");
                records.AddRange(watch.ResponseStream.Current.Records);
            }
        }
        var sentAt = new Dictionary<long, int>();
        for (int i = 0; i < records.Count; i++)
        {
            OutcomeRecord r = records[i];
            if (r.RecordCase == OutcomeRecord.RecordOneofCase.Outcome)
            {
                Assert.Equal(PacketFate.Sent, r.Outcome.Fate is PacketFate.SentLate ? PacketFate.Sent : r.Outcome.Fate);
                sentAt[r.Outcome.PacketId] = i;
                continue;
            }
            Assert.Equal(OutcomeRecord.RecordOneofCase.NetworkError, r.RecordCase);
            NetworkError e = r.NetworkError;
            Assert.True(sentAt.TryGetValue(e.PacketId, out int sentIndex) && sentIndex < i, $"network error for packet {e.PacketId} before its outcome");
            Assert.Equal(NetworkErrorKind.Refused, e.Kind);
            Assert.Equal(NetworkErrorAttribution.Exact, e.Attribution); // the flow header's sequence tells them apart
            Assert.Equal("ECONNREFUSED", e.Error);
            Assert.Equal((3, 3, false), (e.IcmpType, e.IcmpCode, e.Icmp6));
            Assert.StartsWith("127.0.0.1:", e.Offender, StringComparison.Ordinal);
            Assert.InRange(e.ReportedMonotonicNs - e.SentMonotonicNs, 0, 5_000_000_000);
        }
        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), records.Where(r => r.NetworkError is not null).Select(r => r.NetworkError.PacketId).Order());

        V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.Pending == 0 && s.TxNetwork.Refused == Count, TimeSpan.FromSeconds(10));
        Assert.Equal((Count, 0L, (long)Count), (stats.Tx.Sent, stats.Tx.DroppedError, stats.TxNetwork.Exact));
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name);
    }
}
