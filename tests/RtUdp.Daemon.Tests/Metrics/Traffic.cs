using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>Real packets through the daemon: a receiver and a sender on loopback, packets sent, received and drained.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class Traffic
{
    /// <summary>
    /// Sends <paramref name="count"/> packets, due every <paramref name="spacingNs"/> from 50 ms ahead (enough for the Send call to arrive first on a busy machine), waits until all
    /// were sent and received, and drains them; the channels are then quiet (their counters stay as they are).
    /// </summary>
    public static async Task<(Channel Tx, Channel Rx)> RunAsync(Clients api, string prefix, int count, long spacingNs = 20_000)
    {
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId(prefix + "-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId(prefix + "-tx"), rx.BoundLocal);
        await SendAndDrainAsync(api, tx, rx, count, spacingNs);
        return (tx, rx);
    }

    /// <summary>Sends <paramref name="count"/> more packets from <paramref name="tx"/> to <paramref name="rx"/>; returns once all left, arrived and were drained.</summary>
    public static async Task SendAndDrainAsync(Clients api, Channel tx, Channel rx, int count, long spacingNs = 20_000)
    {
        V1.ChannelStats txBefore = (await api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
        V1.ChannelStats rxBefore = (await api.Stats.GetStatsAsync(new GetStatsRequest { Name = rx.Name })).Stats;
        long done = txBefore.Tx.Sent + txBefore.Tx.DroppedLate + txBefore.Tx.DroppedError;
        long start = (await api.Clock.GetClockAsync(new GetClockRequest())).MonotonicNs + 50_000_000;
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < count; i++)
        {
            request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFromUtf8($"metrics {i}"), MonotonicNs = start + (i * spacingNs), PacketId = i });
        }
        await api.Packets.SendAsync(request);
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent + s.Tx.DroppedLate + s.Tx.DroppedError == done + count, TimeSpan.FromSeconds(20));
        await api.WaitStatsAsync(rx.Name, s => s.Rx.Received == rxBefore.Rx.Received + count, TimeSpan.FromSeconds(20));
        int drained = 0;
        while (drained < count)
        {
            ReceiveResponse got = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = count, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)) });
            Assert.NotEmpty(got.Packets);
            drained += got.Packets.Count;
        }
    }
}
