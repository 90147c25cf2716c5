using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Same-host clients through a real engine (docs/shm-clients.md): a client region attached to a channel,
/// its packets sent at their times, received packets in its RX ring, limits by back-pressure, detach by
/// drain or drop with exact counts. Timing-sensitive: run alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class ShmClientTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const long Ms = 1_000_000;

    private (ChannelHandle Tx, ChannelHandle Rx) SendPair(string name)
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), name + "-rx"));
        ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), name + "-tx", rx.BoundLocal));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        return (tx, rx);
    }

    private void Delete(params ChannelHandle[] channels)
    {
        foreach (ChannelHandle channel in channels)
        {
            fixture.Client.DeleteChannel(channel.Id);
            channel.Dispose();
        }
    }

    private static byte[] Payload(int i) => BitConverter.GetBytes((long)i).Concat(new byte[24]).ToArray();

    private static List<(long Id, ReceivedPacket Packet)> ReceiveAll(ChannelHandle rx, int count, TimeSpan timeout)
    {
        var received = new List<(long, ReceivedPacket)>();
        byte[] buffer = new byte[rx.Config.MaxPayload];
        long deadline = Libc.MonotonicNow() + (long)timeout.TotalMilliseconds * Ms;
        while (received.Count < count)
        {
            long left = deadline - Libc.MonotonicNow();
            Assert.True(left > 0, $"{received.Count} of {count} packets arrived\n{Accounting.Describe(rx.ReadStats())}");
            if (rx.Receive(buffer, left) is { } packet)
            {
                received.Add((BitConverter.ToInt64(buffer, 0), packet));
            }
        }
        return received;
    }

    [Fact]
    public void Packets_a_client_writes_reach_the_wire_at_their_due_times()
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair("shm-send");
        using (var client = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send))
        {
            const int count = 50;
            long start = Libc.MonotonicNow() + (50 * Ms);
            var dues = new long[count];
            for (int i = 0; i < count; i++)
            {
                dues[i] = start + (i * 2 * Ms);
                Assert.True(client.Tx.TryWrite(Payload(i), dues[i], packetId: i + 1, flags: 0));
                if (i % 10 == 9)
                {
                    client.Tx.Publish(); // batches of ten
                }
            }

            List<(long Id, ReceivedPacket Packet)> received = ReceiveAll(rx, count, TimeSpan.FromSeconds(5));
            foreach ((long id, ReceivedPacket packet) in received)
            {
                long due = dues[id];
                Assert.True(packet.BestMonotonicNs >= due - (1 * Ms), $"packet {id} arrived {(due - packet.BestMonotonicNs) / 1e6:0.###} ms before its time");
                Assert.True(packet.BestMonotonicNs < due + (20 * Ms), $"packet {id} arrived {(packet.BestMonotonicNs - due) / 1e6:0.###} ms after its time");
                Assert.Equal(tx.BoundLocal, packet.Source);
            }
            Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), received.Select(r => r.Id).Order());

            Accounting.WaitFinished(tx, count);
            ChannelStats stats = tx.ReadStats();
            Assert.Equal(count, stats[ChannelCounter.ClientAccepted]);
            Assert.Equal(count, stats[ChannelCounter.Enqueued]);
            Assert.Equal(count, stats[ChannelCounter.Sent]);
            Assert.Equal(1, stats[ChannelCounter.ClientsAttached]);
            Assert.Equal((ulong)count, client[ClientCounter.TxAccepted]);
            Assert.Equal(client.Region.TxTail, client.Region.TxHead);
            Accounting.AssertBalanced(tx, rx);
        }
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.ClientsAttached]);
        Delete(tx, rx);
    }

    [Fact]
    public void Datagrams_to_a_receive_channel_arrive_in_the_clients_rx_ring_with_stamps_and_source()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "shm-recv"));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        using var client = new ShmTestClient(fixture.Client, rx, ClientRegionFlags.Receive);
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var source = (IPEndPoint)sender.LocalEndPoint!;

        const int count = 200;
        long before = Libc.MonotonicNow();
        for (int i = 0; i < count; i++)
        {
            sender.SendTo(Payload(i), rx.BoundLocal);
        }

        byte[] buffer = new byte[rx.Config.MaxPayload];
        int read = 0;
        long deadline = Libc.MonotonicNow() + (5000 * Ms);
        while (read < count)
        {
            int ticket = client.Rx.PrepareWait();
            if (client.Rx.TryRead(buffer, out RxRecordInfo info, out int length))
            {
                client.Rx.CancelWait();
                Assert.Equal(32, length);
                Assert.Equal(read, BitConverter.ToInt64(buffer, 0)); // loopback keeps the order
                Assert.Equal(source.Port, info.SourcePort);
                Assert.Equal(EndpointBlock.FamilyInet, info.SourceFamily);
                Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1 }, new ReadOnlySpan<byte>(info.SourceAddress, 16).ToArray());
                Assert.NotEqual(0, info.StampSource);
                Assert.InRange(info.BestMonotonicNs, before, Libc.MonotonicNow());
                Assert.True(info.KernelRealtimeNs > 0, "the kernel's software stamp");
                read++;
                continue;
            }
            Assert.True(Libc.MonotonicNow() < deadline, $"{read} of {count} in the client's ring\n{Accounting.Describe(rx.ReadStats())}");
            client.Rx.Wait(ticket, deadline);
        }

        Accounting.WaitReceiverIdle(rx);
        ChannelStats stats = rx.ReadStats();
        Assert.Equal(count, stats[ChannelCounter.ClientRxDelivered]);
        Assert.Equal(count, stats[ChannelCounter.Drained]);
        Assert.Equal((ulong)count, client[ClientCounter.RxDelivered]);
        Accounting.AssertBalanced(rx);

        // Unread at detach: counted, not lost.
        for (int i = 0; i < 7; i++)
        {
            sender.SendTo(Payload(i), rx.BoundLocal);
        }
        Wait.Until(() => rx.ReadStats()[ChannelCounter.ClientRxDelivered] == count + 7, TimeSpan.FromSeconds(5), "7 more delivered");
        ClientDetachCounts counts = client.Detach(ClientExitPolicy.Drain);
        Assert.Equal(7, counts.RxUnread);
        Assert.Equal(7, rx.ReadStats()[ChannelCounter.ClientRxUnreadDetach]);
        Assert.Equal(ClientState.Detached, client.Region.State);
        Assert.Equal(ShmStatus.Detached, client.Region.Status);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void A_client_over_its_rate_waits_in_its_ring_and_nothing_is_dropped()
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair("shm-rate");
        // 500 packets/s, burst 10: 110 packets take 200 ms.
        using (var client = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send, new ClientAttachLimits(500, 10, 0, 0)))
        {
            const int count = 110;
            long start = Libc.MonotonicNow();
            for (int i = 0; i < count; i++)
            {
                Assert.True(client.Tx.TryWrite(Payload(i), 0, i + 1, ClientTxFlags.Immediate));
            }
            client.Tx.Publish();

            List<(long Id, ReceivedPacket Packet)> received = ReceiveAll(rx, count, TimeSpan.FromSeconds(5));
            long last = received.Max(r => r.Packet.BestMonotonicNs);
            // 100 packets beyond the burst at 2 ms each: no earlier than 200 ms (less a tick) after the start.
            Assert.True(last - start >= 195 * Ms, $"the last packet left {(last - start) / 1e6:0.#} ms after the start: the rate was not applied");
            Assert.True(last - start < 2000 * Ms, $"the last packet left {(last - start) / 1e6:0.#} ms after the start");
            // Any 30 consecutive packets: ten from the burst at most, the other 20 at 2 ms each.
            long[] times = [.. received.Select(r => r.Packet.BestMonotonicNs).Order()];
            for (int i = 29; i < times.Length; i++)
            {
                Assert.True(times[i] - times[i - 29] >= 39 * Ms, $"30 packets within {(times[i] - times[i - 29]) / 1e6:0.##} ms (rate 500/s, burst 10)");
            }

            Accounting.WaitFinished(tx, count);
            ChannelStats stats = tx.ReadStats();
            Assert.Equal(count, stats[ChannelCounter.Sent]);
            Assert.Equal(0, stats.TxDropped);
            Assert.InRange(stats[ChannelCounter.ClientThrottled], 1, count - 10);
            Assert.Equal((ulong)stats[ChannelCounter.ClientThrottled], client[ClientCounter.TxThrottled]);
            Assert.Equal((ulong)count, client[ClientCounter.TxAccepted]);
        }
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Theory]
    [InlineData(ClientExitPolicy.Drain)]
    [InlineData(ClientExitPolicy.Drop)]
    public void Detach_drains_or_drops_what_the_client_published_with_exact_counts(ClientExitPolicy policy)
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair($"shm-detach-{policy.ToString().ToLowerInvariant()}");
        // One packet a second, burst 1: the first goes, the rest wait in the ring until the detach.
        var client = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send, new ClientAttachLimits(1, 1, 0, 0));
        const int count = 40;
        for (int i = 0; i < count; i++)
        {
            Assert.True(client.Tx.TryWrite(Payload(i), 0, i + 1, ClientTxFlags.Immediate));
        }
        client.Tx.Publish();
        // Written and never published: not the engine's to take.
        Assert.True(client.Tx.TryWrite(Payload(99), 0, 99, ClientTxFlags.Immediate));
        Wait.Until(() => client[ClientCounter.TxAccepted] == 1 && client[ClientCounter.TxThrottled] == 1, TimeSpan.FromSeconds(5), "the first packet taken, the second throttled");

        long before = Libc.MonotonicNow();
        ClientDetachCounts counts = client.Detach(policy, TimeSpan.FromMilliseconds(300));
        long took = Libc.MonotonicNow() - before;

        // A drain holds the client to its limits as well: nothing more may go within its 300 ms, so it ends with
        // what was left dropped, as a drop does at once.
        Assert.Equal(new ClientDetachCounts(0, count - 1, 0), counts);
        Assert.Equal(1ul, client[ClientCounter.TxAccepted]);
        Assert.Equal((ulong)(count - 1), client[ClientCounter.TxDroppedDetach]);
        if (policy == ClientExitPolicy.Drain)
        {
            Assert.True(took >= 290 * Ms, $"the drain gave up after {took / 1e6:0.#} ms, before its 300 ms");
        }
        ReceiveAll(rx, 1, TimeSpan.FromSeconds(5));
        // Every published record is accounted for, once.
        Assert.Equal((ulong)count, client.Taken);
        Assert.Equal(ClientState.Detached, client.Region.State);
        ChannelStats stats = Accounting.WaitFinished(tx, (long)client[ClientCounter.TxAccepted]);
        ClientBalance clients = ChannelAccounting.Clients(tx.Region);
        Assert.Equal(count, clients.Taken);
        Assert.Equal(stats[ChannelCounter.Enqueued], clients.Accepted);
        Assert.Equal(0, clients.Attached);
        Accounting.AssertBalanced(tx, rx);
        client.Dispose();
        Delete(tx, rx);
    }

    [Fact]
    public void A_drain_at_detach_sends_what_is_left_at_the_clients_rate()
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair("shm-drain-rate");
        // 1,000 packets/s, burst 5: 100 packets take at least 95 ms, detached or not.
        var client = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send, new ClientAttachLimits(1000, 5, 0, 0));
        const int count = 100;
        for (int i = 0; i < count; i++)
        {
            Assert.True(client.Tx.TryWrite(Payload(i), 0, i + 1, ClientTxFlags.Immediate));
        }
        client.Tx.Publish();
        Wait.Until(() => client[ClientCounter.TxThrottled] >= 1, TimeSpan.FromSeconds(5), "the burst taken and the next packet throttled");

        ClientDetachCounts counts = client.Detach(ClientExitPolicy.Drain, TimeSpan.FromSeconds(5));

        Assert.Equal(0, counts.Dropped);
        Assert.InRange(counts.Drained, 1, count - 5);
        Assert.Equal((ulong)count, client[ClientCounter.TxAccepted]);
        long[] times = [.. ReceiveAll(rx, count, TimeSpan.FromSeconds(5)).Select(r => r.Packet.BestMonotonicNs).Order()];
        Assert.True(times[^1] - times[0] >= 90 * Ms, $"100 packets left within {(times[^1] - times[0]) / 1e6:0.#} ms: the drain did not keep to 1,000/s");
        for (int i = 25; i < times.Length; i++)
        {
            Assert.True(times[i] - times[i - 25] >= 19 * Ms, $"26 packets within {(times[i] - times[i - 25]) / 1e6:0.##} ms (rate 1,000/s, burst 5)");
        }
        Accounting.WaitFinished(tx, count);
        Accounting.AssertBalanced(tx, rx);
        client.Dispose();
        Delete(tx, rx);
    }

    [Fact]
    public void A_drain_held_back_by_its_limits_does_not_hold_up_the_engines_other_commands()
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair("shm-slow-drain");
        // At most one packet queued and not yet due, each due in 4 s: after the first, the drain can send nothing more
        // and takes its whole 2 s.
        var slow = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send, new ClientAttachLimits(0, 0, 1, 0));
        long due = Libc.MonotonicNow() + (4000 * Ms);
        for (int i = 0; i < 20; i++)
        {
            Assert.True(slow.Tx.TryWrite(Payload(i), due, i + 1, 0));
        }
        slow.Tx.Publish();
        Wait.Until(() => slow[ClientCounter.TxThrottled] == 1, TimeSpan.FromSeconds(5), "the second packet held back");
        long start = Libc.MonotonicNow();
        ClientDetachCounts? counts = null;
        var draining = new Thread(() => counts = slow.Detach(ClientExitPolicy.Drain, TimeSpan.FromSeconds(2))) { IsBackground = true };
        draining.Start();
        Wait.Until(() => slow.Region.State == ClientState.Attached && Libc.MonotonicNow() - start > 50 * Ms, TimeSpan.FromSeconds(5), "the drain under way");

        // Meanwhile another client attaches, sends and detaches, and a channel is created and deleted: each command
        // answered while the drain goes on.
        using (var quick = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send))
        {
            Assert.True(quick.Tx.TryWrite(Payload(1000), 0, 1000, ClientTxFlags.Immediate));
            quick.Tx.Publish();
            Wait.Until(() => quick[ClientCounter.TxAccepted] == 1, TimeSpan.FromSeconds(5), "the quick client's packet taken");
            Assert.Equal(new ClientDetachCounts(0, 0, 0), quick.Detach(ClientExitPolicy.Drain));
        }
        using (ChannelHandle other = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "shm-slow-drain-other")))
        {
            fixture.Client.DeleteChannel(other.Id);
        }
        Assert.True(draining.IsAlive, $"the drain ended after {(Libc.MonotonicNow() - start) / 1e6:0} ms, before the commands were done: the test proves nothing");

        Assert.True(draining.Join(TimeSpan.FromSeconds(15)), "the drain never ended");
        Assert.Equal(new ClientDetachCounts(0, 19, 0), counts);
        Assert.True(Libc.MonotonicNow() - start >= 1990 * Ms, "the drain ended before its 2 s");
        ReceiveAll(rx, 2, TimeSpan.FromSeconds(5));
        Accounting.WaitFinished(tx, 2);
        Accounting.AssertBalanced(tx, rx);
        slow.Dispose();
        Delete(tx, rx);
    }

    [Fact]
    public void Attach_refuses_a_wrong_direction_an_unknown_token_and_a_second_receiver()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "shm-refuse"));
        var error = Assert.Throws<EngineCommandException>(() => new ShmTestClient(fixture.Client, rx, ClientRegionFlags.Send));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Contains("does not send", error.Message, StringComparison.Ordinal);

        using var first = new ShmTestClient(fixture.Client, rx, ClientRegionFlags.Receive);
        error = Assert.Throws<EngineCommandException>(() => new ShmTestClient(fixture.Client, rx, ClientRegionFlags.Receive));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Contains("already has a same-host receiver", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<EngineCommandException>(() => fixture.Client.DetachClientAsync(rx.Id, 4242, ClientExitPolicy.Drop, CancellationToken.None).GetAwaiter().GetResult());
        Assert.Equal(EngineStatus.NotFound, error.Status);
        fixture.Client.DeleteChannel(rx.Id);
        // The channel's deletion detached its client.
        Assert.Equal(ClientState.Detached, first.Region.State);
        Assert.Contains("deleted", first.Region.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_engine_allocates_nothing_while_clients_send_and_receive()
    {
        (ChannelHandle tx, ChannelHandle rx) = SendPair("shm-alloc");
        using var sender = new ShmTestClient(fixture.Client, tx, ClientRegionFlags.Send);
        using var receiver = new ShmTestClient(fixture.Client, rx, ClientRegionFlags.Receive);
        byte[] buffer = new byte[2048];
        int delivered = 0;

        void Burst(int count)
        {
            for (int chunk = 0; chunk < count; chunk += 100)
            {
                Chunk(Math.Min(100, count - chunk));
            }
        }

        // A hundred at a time, read by the receiving client before the next: its RX ring never fills.
        void Chunk(int count)
        {
            long due = Libc.MonotonicNow() + Ms;
            for (int i = 0; i < count; i++)
            {
                Assert.True(sender.Tx.TryWrite(Payload(i), due + (i * 10_000), i + 1, 0));
                if (i % 16 == 15)
                {
                    sender.Tx.Publish();
                }
            }
            sender.Tx.Publish();
            int target = delivered + count;
            Wait.Until(
                () =>
                {
                    while (receiver.Rx.TryRead(buffer, out _, out _))
                    {
                        delivered++;
                    }
                    return delivered == target;
                },
                TimeSpan.FromSeconds(10),
                () => $"{delivered} of {target} delivered to the receiving client\n{Accounting.Describe(rx.ReadStats())}");
        }

        Burst(500); // warm-up: every path taken once
        EngineHealth before = FreshHealth();
        Burst(3000);
        EngineHealth after = FreshHealth();

        Assert.Equal(before.TotalCollections, after.TotalCollections);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);
        Assert.Equal(3500, rx.ReadStats()[ChannelCounter.ClientRxDelivered]);
        Assert.Equal(3500, tx.ReadStats()[ChannelCounter.ClientAccepted]);
        Delete(tx, rx);
    }

    private EngineHealth FreshHealth()
    {
        long beat = fixture.Client.ReadHealth().Heartbeat;
        Wait.Until(() => fixture.Client.ReadHealth().Heartbeat > beat + 1, TimeSpan.FromSeconds(5), () => "conductor heartbeat");
        return fixture.Client.ReadHealth();
    }
}
