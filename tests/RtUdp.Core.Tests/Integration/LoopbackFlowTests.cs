using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>The original RtUdp workflow, end to end through a real engine process on loopback. Runs as any user (degraded real-time mode is reported, not fatal).</summary>
public sealed class LoopbackFlowTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private ChannelConfig Receiver(string name) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = ChannelDirection.Receive,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Capacity = 1024,
        MaxPayload = 2048,
    };

    private ChannelConfig Sender(string name, IPEndPoint remote) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = remote,
        Capacity = 1024,
        MaxPayload = 2048,
    };

    [Fact]
    public void Packet_scheduled_1ms_ahead_arrives_and_is_accounted()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Receiver("seed-rx"));
        using ChannelHandle tx = fixture.Client.CreateChannel(Sender("seed-tx", rx.BoundLocal));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        tx.RequestReports();

        byte[] payload = "hello, deterministic world"u8.ToArray();
        long due = Libc.MonotonicNow() + 1_000_000;
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, due, packetId: 42));

        byte[] buffer = new byte[2048];
        ReceivedPacket? packet = rx.Receive(buffer, timeoutNs: 2_000_000_000);
        long receivedAt = Libc.MonotonicNow();

        Assert.True(packet.HasValue, "no packet within 2 s\n" + fixture.Log);
        Assert.Equal(payload, buffer.AsSpan(0, packet.Value.Length).ToArray());
        Assert.Equal(tx.BoundLocal, packet.Value.Source);
        Assert.True(packet.Value.KernelRealtimeNs > 0, "kernel RX timestamp missing");
        Assert.True(receivedAt >= due, "received before it was due");

        Wait.Until(() => tx.ReadStats()[ChannelCounter.Sent] == 1, TimeSpan.FromSeconds(5), () => "sent == 1");
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(1, stats[ChannelCounter.Enqueued]);
        Assert.Equal(0, stats.Pending);
        Assert.True(stats.TxBalanced);
        Assert.Equal(1, stats.SendError.TotalCount);
        Assert.True(stats.SendError.Max >= 0 && stats.SendError.Max < 1_000_000_000, $"send error max {stats.SendError.Max} ns");

        Span<TxReport> reports = stackalloc TxReport[4];
        Assert.Equal(1, tx.DrainReports(reports));
        Assert.Equal(42, reports[0].PacketId);
        Assert.Equal(due, reports[0].DueNs);
        Assert.True(reports[0].SentNs >= due);
        // Loopback stamps in software: the send error comes from the kernel's SND stamp, converted
        // from CLOCK_REALTIME, which follows the worker's clock read before sendmmsg.
        Assert.Equal((int)RtUdp.Core.Timestamping.StampSource.Software, reports[0].StampSource);
        Assert.Equal(reports[0].SoftwareNs - due, stats.SendError.Max);
        Assert.InRange(reports[0].SoftwareNs - reports[0].SentNs, -50_000, 50_000_000);
        Assert.True(reports[0].WakeNs <= reports[0].SentNs);
        Assert.Equal(1, stats[ChannelCounter.SendErrorFromSoftware]);
        Assert.Equal(1, stats[ChannelCounter.TxStampsSoftware]);

        ChannelStats rxStats = rx.ReadStats();
        Assert.Equal(1, rxStats[ChannelCounter.Received]);
        Assert.Equal(1, rxStats[ChannelCounter.Drained]);
        Assert.True(rxStats.RxBalanced);
        Assert.Equal(1, rxStats.Delivery.TotalCount);

        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }
}
