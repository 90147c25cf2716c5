using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>The seed's example (RtUdp object: receive side, send side, a packet 1 ms ahead) done over gRPC, on both listeners.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SeedFlowTests(DaemonFixture daemon)
{
    [Theory]
    [InlineData("unix")]
    [InlineData("tcp")]
    public async Task Packet_scheduled_1ms_ahead_arrives_with_stats_and_histogram(string transport)
    {
        var api = new Clients(daemon.Channel(transport));
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("seed-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("seed-tx"), rx.BoundLocal);
        Assert.Equal(ChannelState.Running, rx.State);
        Assert.Equal(ChannelState.Running, tx.State);
        Assert.NotEqual(0u, rx.BoundLocal.Port);

        GetClockResponse clock = await api.Clock.GetClockAsync(new GetClockRequest());
        ByteString payload = ByteString.CopyFromUtf8("hello, deterministic world");
        long due = clock.MonotonicNs + 1_000_000;
        SendResponse sent = await api.Packets.SendAsync(new SendRequest
        {
            Channel = tx.Name,
            Packets = { new OutgoingPacket { Payload = payload, MonotonicNs = due, PacketId = 42 } },
        });
        Assert.Equal(1, sent.Accepted);
        Assert.Equal(due, sent.FirstDueMonotonicNs);

        ReceiveResponse received = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 10, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)) });
        long receivedAt = Libc.MonotonicNow();
        ReceivedPacket packet = Assert.Single(received.Packets);
        Assert.Equal(payload, packet.Payload);
        Assert.Equal(tx.BoundLocal, packet.Source);
        Assert.True(packet.SoftwareStampNs > 0, "kernel software RX stamp missing");
        Assert.Equal(StampSource.Software, packet.StampSource);
        Assert.Equal(ClockDomain.Realtime, packet.ClockDomain);
        Assert.InRange(packet.MonotonicNs, due, receivedAt);
        Assert.NotNull(packet.SoftwareStamp);

        V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 1);
        Assert.Equal(1, stats.Tx.Enqueued);
        Assert.Equal(0, stats.Tx.Pending);
        Assert.True(stats.Tx.Balanced);
        Assert.Equal(1, stats.SendErrorCount);
        Assert.InRange(stats.SendErrorMaxNs, 0, 1_000_000_000);
        Assert.Equal(1, stats.Counters["send_error_from_software"]);
        V1.ChannelStats rxStats = await api.WaitStatsAsync(rx.Name, s => s.Rx.Drained == 1);
        Assert.Equal(1, rxStats.Rx.Received);
        Assert.True(rxStats.Rx.Balanced);

        Histogram histogram = (await api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError, Percentiles = { 50, 99, 100 } })).Histogram;
        Assert.Equal(1, histogram.TotalCount);
        Assert.Equal(stats.SendErrorMaxNs, histogram.MaxNs);
        Assert.Equal([50.0, 99.0, 100.0], histogram.Percentiles.Select(p => p.Percentile_));
        Assert.Equal(histogram.MaxNs, histogram.Percentiles[2].ValueNs);
        Assert.All(histogram.Percentiles, p => Assert.InRange(p.ValueNs, histogram.MinNs, histogram.MaxNs));
        HistogramBucket bucket = Assert.Single(histogram.Buckets);
        Assert.Equal(1, bucket.Count);
        Assert.InRange(histogram.MaxNs, bucket.LowNs, bucket.HighNs);

        // The HdrHistogram encodings hold the same counts (one sample, in the bucket's index).
        long[] counts = HdrHistogramEncoding.DecodeCounts(Convert.FromBase64String(histogram.HdrHistogramBase64));
        Assert.Equal(counts, HdrHistogramEncoding.DecodeCounts(histogram.HdrHistogramV2.Span));
        Assert.Equal(1, counts.Sum());
        Assert.Equal(1, counts[^1]);
        Assert.Equal(0x1c849314, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(Convert.FromBase64String(histogram.HdrHistogramBase64)));
        Assert.Equal(0x1c849313, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(histogram.HdrHistogramV2.Span));

        Histogram delivery = (await api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = rx.Name, Kind = HistogramKind.Delivery })).Histogram;
        Assert.Equal(1, delivery.TotalCount);
        Assert.Equal(6, delivery.Percentiles.Count);

        await api.DeleteAsync(tx, rx);
    }
}
