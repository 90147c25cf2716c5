using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>Full rings on both sides: what does not fit is refused or dropped, and always counted.</summary>
public sealed class OverflowTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private void Delete(params ChannelHandle[] channels)
    {
        foreach (ChannelHandle channel in channels)
        {
            fixture.Client.DeleteChannel(channel.Id);
            channel.Dispose();
        }
    }

    [Fact]
    public void Undrained_rx_ring_overflows_counted_and_balanced()
    {
        const int maxPayload = 256;
        const int ringBytes = 64 * 1024;
        const int packets = 5000;
        const int payloadBytes = 200;
        Assert.True(ringBytes >= 8 * (maxPayload + 128));

        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "flood-rx") with
        {
            MaxPayload = maxPayload,
            RxRingBytes = ringBytes,
        });
        ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "flood-tx", rx.BoundLocal) with
        {
            MaxPayload = maxPayload,
            Capacity = 16384, // a 2 MiB TX ring: all 5000 records fit at once
        });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));

        byte[] payload = new byte[payloadBytes];
        long now = Libc.MonotonicNow();
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, now, packetId: i, signal: false));
        }
        tx.Flush();

        ChannelStats txStats = Accounting.WaitFinished(tx, packets, TimeSpan.FromSeconds(10));
        Assert.Equal(packets, txStats[ChannelCounter.Sent]);

        // Nobody drains: once the worker has read the socket empty, every counter is final.
        Accounting.WaitReceiverIdle(rx);
        ChannelStats before = rx.ReadStats();
        output.WriteLine("after the flood: " + Accounting.Describe(before));
        Assert.True(before[ChannelCounter.RxDroppedOverflow] > 0, "no overflow: " + Accounting.Describe(before));
        Assert.Equal(0, before[ChannelCounter.RxDroppedTruncated]);
        Assert.Equal(0, before[ChannelCounter.Drained]);
        Assert.True(before.Buffered > 0 && before.Buffered * (payloadBytes + 56) <= ringBytes, "buffered: " + Accounting.Describe(before));
        Assert.True(before[ChannelCounter.Received] <= packets);
        Assert.Equal(0, before.Rx.Uncounted);

        // Drain everything that was kept: exactly the buffered packets, in sequence, whole.
        byte[] buffer = new byte[maxPayload];
        long drained = 0;
        while (rx.Receive(buffer, 0) is { } packet)
        {
            Assert.Equal(drained, packet.Sequence);
            Assert.Equal(payloadBytes, packet.Length);
            drained++;
        }
        Assert.Equal(before.Buffered, drained);

        ChannelStats after = rx.ReadStats();
        Assert.Equal(0, after.Buffered);
        Assert.Equal(before[ChannelCounter.Received], after[ChannelCounter.Received]);
        Assert.Equal(after[ChannelCounter.RxWritten], after[ChannelCounter.Drained]);
        Assert.Equal(0, after.Rx.Uncounted);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Full_tx_ring_rejects_and_stop_drops_what_is_pending()
    {
        const int maxPayload = 64;
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "txfull-rx"));
        ChannelHandle tx = fixture.Client.CreateChannel(new ChannelConfig
        {
            Id = fixture.NextId(),
            Name = "txfull-tx",
            Direction = ChannelDirection.Send,
            Local = new IPEndPoint(IPAddress.Loopback, 0),
            Remote = rx.BoundLocal,
            Capacity = 1024,
            MaxPayload = maxPayload,
            TxRingBytes = 1024,
        });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        tx.RequestReports();

        // Far-future packets hold their ring space until they leave: the ring fills.
        byte[] payload = new byte[maxPayload];
        long due = Libc.MonotonicNow() + 600_000_000_000;
        int accepted = 0;
        EnqueueResult result;
        while ((result = tx.TryEnqueue(payload, due + accepted, packetId: accepted)) == EnqueueResult.Ok)
        {
            accepted++;
            Assert.True(accepted <= 1024 / 8, $"{accepted} packets of {maxPayload} bytes accepted by a 1 KiB ring");
        }
        Assert.Equal(EnqueueResult.Full, result);
        Assert.True(accepted >= 8, $"only {accepted} packets fit");
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(EnqueueResult.Full, tx.TryEnqueue(payload, due, packetId: 1000 + i));
        }

        // The worker takes them into its schedule but cannot send them yet.
        Wait.Until(() => tx.ReadStats()[ChannelCounter.Scanned] == accepted, TimeSpan.FromSeconds(5), () => "all accepted packets scheduled: " + Accounting.Describe(tx.ReadStats()));
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(accepted, stats[ChannelCounter.Enqueued]);
        Assert.Equal(4, stats[ChannelCounter.RejectedFull]);
        Assert.Equal(accepted, stats.Pending);
        Assert.Equal(0, stats[ChannelCounter.Sent]);
        Assert.True(stats.TxBalanced, Accounting.Describe(stats));
        Assert.Equal(EnqueueResult.Full, tx.TryEnqueue(payload, due, packetId: 2000));

        Assert.Equal(ChannelState.Stopped, fixture.Client.StopChannel(tx.Id));
        stats = tx.ReadStats();
        Assert.Equal(WorkerState.Stopped, stats.Sender.State);
        Assert.Equal(accepted, stats[ChannelCounter.DroppedStopped]);
        Assert.Equal(0, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats.Pending);
        Assert.Equal(5, stats[ChannelCounter.RejectedFull]);
        Assert.Equal(0, stats.Tx.Uncounted);

        TxReport[] reports = new TxReport[256];
        int n = tx.DrainReports(reports);
        Assert.Equal(accepted, n);
        Assert.All(reports.Take(n), r => Assert.Equal((int)TxOutcome.DroppedStopped, r.Outcome));
        Assert.Equal(Enumerable.Range(0, accepted).Select(i => (long)i), reports.Take(n).Select(r => r.PacketId).Order());

        Assert.Equal(EnqueueResult.NotAccepting, tx.TryEnqueue(payload, due, packetId: 3000));
        Assert.Equal(0, rx.ReadStats()[ChannelCounter.Received]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Rx_ring_too_small_for_max_payload_is_refused()
    {
        // Regression: a 1 KiB RX ring takes records of at most 120 bytes, so the first datagram of
        // 73+ bytes killed the receive worker (channel Failed, the datagram counted nowhere).
        ChannelConfig config = TestChannels.Receiver(fixture.NextId(), "rx-tiny") with { MaxPayload = 128, RxRingBytes = 1024 };
        var e = Assert.Throws<EngineCommandException>(() => fixture.Client.CreateChannel(config));
        Assert.Equal(EngineStatus.InvalidArgument, e.Status);
        Assert.Equal("rx_ring_bytes", e.Field);
        Assert.Equal(EngineStatus.NotFound, Assert.Throws<EngineCommandException>(() => fixture.Client.StartChannel(config.Id)).Status);
    }

    [Fact]
    public void Smallest_accepted_rx_ring_holds_max_payload_datagrams()
    {
        const int maxPayload = 128;
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "rx-min") with
        {
            MaxPayload = maxPayload,
            RxRingBytes = 8 * (maxPayload + 128),
        });
        ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "rx-min-tx", rx.BoundLocal) with { MaxPayload = maxPayload });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));

        byte[] payload = [.. Enumerable.Range(0, maxPayload).Select(i => (byte)(i * 7))];
        byte[] buffer = new byte[maxPayload];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, Libc.MonotonicNow(), packetId: i));
            ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
            Assert.True(packet.HasValue, $"datagram {i} did not arrive: {Accounting.Describe(rx.ReadStats())}\n{fixture.Log}");
            Assert.Equal(payload, buffer.AsSpan(0, packet.Value.Length).ToArray());
        }
        Assert.Equal(ChannelState.Running, rx.State);
        Assert.Equal(WorkerState.Running, rx.ReadStats().Receiver.State);
        Accounting.WaitFinished(tx, 3);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }
}
