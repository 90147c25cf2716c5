using System.Buffers.Binary;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>The send worker's schedule through a real engine: time order, tie order, late policy, size limit, batching.</summary>
[Collection(SerialCollection.Name)]
public sealed class SchedulingTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private const long ReceiveTimeoutNs = 2_000_000_000;

    private (ChannelHandle Rx, ChannelHandle Tx) Pair(string name, Func<ChannelConfig, ChannelConfig>? sender = null)
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), name + "-rx"));
        ChannelConfig txConfig = TestChannels.Sender(fixture.NextId(), name + "-tx", rx.BoundLocal);
        ChannelHandle tx = fixture.Client.CreateChannel(sender?.Invoke(txConfig) ?? txConfig);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        tx.RequestReports();
        return (rx, tx);
    }

    private void Delete(params ChannelHandle[] channels)
    {
        foreach (ChannelHandle channel in channels)
        {
            fixture.Client.DeleteChannel(channel.Id);
            channel.Dispose();
        }
    }

    /// <summary>
    /// The ordering tests need every packet in the ring before the first is due; a test thread
    /// descheduled for longer than the lead would make the check meaningless, so say so plainly.
    /// </summary>
    private static void AssertEnqueuedBefore(long firstDueNs)
    {
        long now = Libc.MonotonicNow();
        Assert.True(now < firstDueNs, $"enqueueing ended {(now - firstDueNs) / 1000} us after the first packet was due (test thread descheduled?): the run is inconclusive");
    }

    private static byte[] Payload(int value)
    {
        byte[] payload = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(payload, value);
        return payload;
    }

    private static TxReport[] DrainReports(ChannelHandle tx, int expected)
    {
        var all = new List<TxReport>();
        TxReport[] buffer = new TxReport[256];
        Wait.Until(
            () =>
            {
                int n = tx.DrainReports(buffer);
                all.AddRange(buffer.AsSpan(0, n).ToArray());
                return all.Count >= expected;
            },
            Timeout,
            () => $"{expected} TX reports (have {all.Count})");
        Assert.Equal(0, tx.DrainReports(buffer));
        return [.. all];
    }

    /// <summary>Receives <paramref name="count"/> packets and returns the int each carries, in arrival order.</summary>
    private List<int> ReceiveValues(ChannelHandle rx, int count)
    {
        byte[] buffer = new byte[rx.Config.MaxPayload];
        var values = new List<int>();
        long lastSequence = -1;
        for (int i = 0; i < count; i++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, ReceiveTimeoutNs);
            Assert.True(packet.HasValue, $"packet {i} of {count} did not arrive within 2 s\n{Accounting.Describe(rx.ReadStats())}\n{fixture.Log}");
            Assert.True(packet.Value.Sequence > lastSequence, "RX sequence numbers must increase");
            lastSequence = packet.Value.Sequence;
            values.Add(BinaryPrimitives.ReadInt32LittleEndian(buffer));
        }
        return values;
    }

    [Fact]
    public void Packets_enqueued_out_of_order_leave_in_time_order()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("order");
        const int count = 50;
        const long spacingNs = 200_000;
        int[] order = [.. Enumerable.Range(0, count)];
        new Random(20240611).Shuffle(order);
        byte[][] payloads = [.. Enumerable.Range(0, count).Select(Payload)];

        long first = Libc.MonotonicNow() + 20_000_000;
        foreach (int rank in order)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payloads[rank], first + (rank * spacingNs), packetId: rank));
        }
        AssertEnqueuedBefore(first);

        ChannelStats stats = Accounting.WaitFinished(tx, count);
        Assert.Equal(count, stats[ChannelCounter.Sent]);

        // Reports are written as packets leave: their order is the send order.
        TxReport[] reports = DrainReports(tx, count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), reports.Select(r => r.PacketId));
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(first + (i * spacingNs), reports[i].DueNs);
            Assert.True(reports[i].Outcome is (int)TxOutcome.Sent or (int)TxOutcome.SentLate, $"report {i}: outcome {reports[i].Outcome}");
            Assert.True(reports[i].SentNs >= reports[i].DueNs, $"packet {i} left {reports[i].DueNs - reports[i].SentNs} ns early");
            if (i > 0)
            {
                Assert.True(reports[i].SentNs >= reports[i - 1].SentNs, $"packet {i} (due later) left before packet {i - 1}");
            }
        }

        Assert.Equal(Enumerable.Range(0, count), ReceiveValues(rx, count));
        Accounting.WaitReceiverIdle(rx);
        Assert.Equal(count, rx.ReadStats()[ChannelCounter.Received]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Packets_due_together_leave_in_enqueue_order()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("ties");
        const int count = 20;
        byte[][] payloads = [.. Enumerable.Range(0, count).Select(Payload)];
        long due = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payloads[i], due, packetId: i));
        }
        AssertEnqueuedBefore(due);

        Accounting.WaitFinished(tx, count);
        TxReport[] reports = DrainReports(tx, count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), reports.Select(r => r.PacketId));
        Assert.All(reports, r => Assert.Equal(due, r.DueNs));
        Assert.Equal(Enumerable.Range(0, count), ReceiveValues(rx, count));
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Late_packets_are_dropped_under_drop_policy()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("late-drop", c => c with { LatePolicy = LatePolicy.Drop, LateToleranceNs = 1_000_000 });
        const int count = 10;
        long due = Libc.MonotonicNow() - 50_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(Payload(i), due + i, packetId: i));
        }

        ChannelStats stats = Accounting.WaitFinished(tx, count);
        Assert.Equal(count, stats[ChannelCounter.DroppedLate]);
        Assert.Equal(0, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats[ChannelCounter.Late]);
        Assert.Equal(0, stats[ChannelCounter.SendCalls]);
        Assert.Equal(0, stats.SendError.TotalCount);

        TxReport[] reports = DrainReports(tx, count);
        Assert.All(reports, r =>
        {
            Assert.Equal((int)TxOutcome.DroppedLate, r.Outcome);
            Assert.Equal(0, r.SentNs);
        });

        // Nothing was sent, so nothing can arrive; a short bounded look confirms it.
        Assert.Null(rx.Receive(new byte[rx.Config.MaxPayload], 50_000_000));
        Assert.Equal(0, rx.ReadStats()[ChannelCounter.Received]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Late_packets_are_sent_and_counted_under_send_late_policy()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("late-send", c => c with { LatePolicy = LatePolicy.SendLate, LateToleranceNs = 1_000_000 });
        const int count = 10;
        long due = Libc.MonotonicNow() - 50_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(Payload(i), due + i, packetId: i));
        }

        ChannelStats stats = Accounting.WaitFinished(tx, count);
        Assert.Equal(count, stats[ChannelCounter.Sent]);
        Assert.Equal(count, stats[ChannelCounter.Late]);
        Assert.Equal(0, stats.TxDropped);
        Assert.True(stats.SendError.Min >= 50_000_000, $"send error min {stats.SendError.Min} ns");

        TxReport[] reports = DrainReports(tx, count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), reports.Select(r => r.PacketId));
        Assert.All(reports, r =>
        {
            Assert.Equal((int)TxOutcome.SentLate, r.Outcome);
            Assert.True(r.SentNs - r.DueNs >= 50_000_000);
        });

        Assert.Equal(Enumerable.Range(0, count), ReceiveValues(rx, count));
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Payload_larger_than_max_payload_is_refused_uncounted()
    {
        (ChannelHandle rx, ChannelHandle tx) = Pair("too-large", c => c with { MaxPayload = 64 });
        long due = Libc.MonotonicNow() + 1_000_000;
        Assert.Equal(EnqueueResult.TooLarge, tx.TryEnqueue(new byte[65], due, packetId: 1));
        Assert.Equal(EnqueueResult.TooLarge, tx.TryEnqueue(new byte[9000], due, packetId: 2));
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(0, stats[ChannelCounter.Enqueued]);
        Assert.Equal(0, stats[ChannelCounter.RejectedFull]);

        // Exactly max_payload is fine and arrives whole.
        byte[] largest = [.. Enumerable.Range(0, 64).Select(i => (byte)i)];
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(largest, due, packetId: 3));
        byte[] buffer = new byte[rx.Config.MaxPayload];
        ReceivedPacket? packet = rx.Receive(buffer, ReceiveTimeoutNs);
        Assert.True(packet.HasValue, "the max_payload packet did not arrive\n" + fixture.Log);
        Assert.Equal(largest, buffer.AsSpan(0, packet.Value.Length).ToArray());

        Accounting.WaitFinished(tx, 1);
        Assert.Equal(1, tx.ReadStats()[ChannelCounter.Enqueued]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Packets_due_together_share_sendmmsg_calls()
    {
        const int count = 32;
        (ChannelHandle rx, ChannelHandle tx) = Pair("batch", c => c with { BatchSize = 32 });
        byte[][] payloads = [.. Enumerable.Range(0, count).Select(Payload)];
        long due = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payloads[i], due, packetId: i, signal: false));
        }
        tx.Flush();
        AssertEnqueuedBefore(due);

        ChannelStats stats = Accounting.WaitFinished(tx, count);
        Assert.Equal(count, stats[ChannelCounter.Sent]);
        long calls = stats[ChannelCounter.SendCalls];
        Assert.True(calls >= 1 && calls < count, $"{calls} sendmmsg calls for {count} packets due together");
        Assert.Equal(count, stats[ChannelCounter.SendBatchPackets]);

        TxReport[] reports = DrainReports(tx, count);
        Assert.True(reports.Select(r => r.SentNs).Distinct().Count() <= calls, "each sendmmsg call stamps its packets with one time");
        Assert.Equal(Enumerable.Range(0, count), ReceiveValues(rx, count));
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }
}
