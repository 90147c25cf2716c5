using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Per-client limits (Limits:PerClientPacketsPerSecond, Limits:PerClientQueuedPackets): a client flooding
/// the daemon is refused with RESOURCE_EXHAUSTED and a QuotaFailure, counted, while another client's packets
/// still go through. Clients: the unix socket's peer user ("uid:0") and TCP's peer address ("ip:127.0.0.1").
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClientLimitTests
{
    [Fact]
    public async Task A_client_flooding_beyond_its_rate_is_refused_and_counted_while_another_client_gets_every_packet_through()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(new Dictionary<string, string>
        {
            ["Limits:PerClientPacketsPerSecond"] = "2000",
            ["Limits:PerClientQueuedPackets"] = "5000",
        });
        Clients flooder = daemon.Tcp;
        Clients polite = daemon.Unix;
        Channel floodSink = await polite.CreateReceiverAsync(Clients.UniqueId("flood-sink"));
        Channel rx = await polite.CreateReceiverAsync(Clients.UniqueId("polite-rx"));
        Channel flood = await flooder.CreateSenderAsync(Clients.UniqueId("flood"), floodSink.BoundLocal, configure: c => c.Capacity = 65536);
        Channel tx = await polite.CreateSenderAsync(Clients.UniqueId("polite"), rx.BoundLocal);

        using var stop = new CancellationTokenSource();
        long floodAccepted = 0;
        long floodRefusedPackets = 0;
        int refusals = 0;
        Task flooding = Task.Run(async () =>
        {
            var request = new SendRequest { Channel = flood.Name };
            for (int i = 0; i < 200; i++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[32]), PacketId = i });
            }
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    floodAccepted += (await flooder.Packets.SendAsync(request)).Accepted;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    Google.Rpc.Status status = e.GetRpcStatus()!;
                    QuotaFailure quota = status.GetDetail<QuotaFailure>();
                    Assert.NotNull(quota);
                    Assert.Equal("client:ip:127.0.0.1", quota.Violations.Single().Subject);
                    Assert.Contains("Limits:PerClientPacketsPerSecond", quota.Violations[0].Description, StringComparison.Ordinal);
                    Assert.NotNull(status.GetDetail<RetryInfo>());
                    Assert.Equal("QUOTA_EXCEEDED", status.GetDetail<ErrorInfo>().Reason);
                    floodRefusedPackets += request.Packets.Count;
                    refusals++;
                }
            }
        });

        // Meanwhile the other client sends 200 packets, 20 per call, every 20 ms: within its own quota, every call succeeds.
        const int Packets = 200;
        for (int i = 0; i < Packets; i += 20)
        {
            var request = new SendRequest { Channel = tx.Name };
            for (int j = i; j < i + 20; j++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(BitConverter.GetBytes(j)), PacketId = j });
            }
            Assert.Equal(20, (await polite.Packets.SendAsync(request)).Accepted);
            await Task.Delay(20);
        }
        await stop.CancelAsync();
        await flooding;

        var received = new List<int>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (received.Count < Packets && DateTime.UtcNow < deadline)
        {
            ReceiveResponse response = await polite.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 1000, Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)) });
            received.AddRange(response.Packets.Select(p => BitConverter.ToInt32(p.Payload.Span)));
        }
        Assert.Equal(Enumerable.Range(0, Packets), received.Order());

        Assert.True(refusals > 0, "the flooder was never refused");
        V1.ChannelStats[] stats = await DaemonAccounting.AssertBalancedAsync(polite, flood.Name, tx.Name, rx.Name, floodSink.Name);
        Assert.Equal(floodRefusedPackets, stats[0].Counters["rejected_quota"]);
        Assert.Equal(floodAccepted, stats[0].Tx.Enqueued);
        Assert.Equal(0, stats[1].Counters["rejected_quota"]);
        // Over the whole run the flooder got about its rate (2000/s plus the first burst of 2000), no more.
        Assert.True(floodAccepted <= 2000 + (2000 * 10), $"flooder accepted {floodAccepted}");
        await DaemonAccounting.DeleteBalancedAsync(polite, flood.Name, tx.Name, rx.Name, floodSink.Name);
    }

    [Fact]
    public async Task Packets_scheduled_ahead_beyond_the_queued_limit_are_refused_until_their_time_has_passed()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(new Dictionary<string, string> { ["Limits:PerClientQueuedPackets"] = "100" });
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("queued-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("queued"), rx.BoundLocal);
        SendRequest Batch(int count, TimeSpan delay)
        {
            var request = new SendRequest { Channel = tx.Name };
            for (int i = 0; i < count; i++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFromUtf8("ahead"), Delay = Duration.FromTimeSpan(delay) });
            }
            return request;
        }

        Assert.Equal(80, (await api.Packets.SendAsync(Batch(80, TimeSpan.FromSeconds(1)))).Accepted);
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => api.Packets.SendAsync(Batch(30, TimeSpan.FromSeconds(1))).ResponseAsync);
        QuotaFailure quota = status.GetDetail<QuotaFailure>();
        Assert.Equal("client:uid:0", quota.Violations.Single().Subject);
        Assert.Contains("Limits:PerClientQueuedPackets", quota.Violations[0].Description, StringComparison.Ordinal);
        Assert.Equal("queued_packets", status.GetDetail<ErrorInfo>().Metadata["limit"]);
        // Packets due now are not "queued ahead": they pass.
        Assert.Equal(30, (await api.Packets.SendAsync(Batch(30, TimeSpan.Zero))).Accepted);

        // Once the 80 have gone out, the client may schedule ahead again.
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 110, TimeSpan.FromSeconds(10));
        Assert.Equal(100, (await api.Packets.SendAsync(Batch(100, TimeSpan.FromMilliseconds(200)))).Accepted);
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 210, TimeSpan.FromSeconds(10));
        V1.ChannelStats[] stats = await DaemonAccounting.AssertBalancedAsync(api, tx.Name, rx.Name);
        Assert.Equal(30, stats[0].Counters["rejected_quota"]);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name, rx.Name);
    }
}
