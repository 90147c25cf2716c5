using System.Net;
using System.Net.Sockets;
using System.Text;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>Channel directions (send, receive, duplex) and IPv6, through a real engine on loopback.</summary>
public sealed class DuplexTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const long ReceiveTimeoutNs = 2_000_000_000;

    private void Delete(params ChannelHandle[] channels)
    {
        foreach (ChannelHandle channel in channels)
        {
            fixture.Client.DeleteChannel(channel.Id);
            channel.Dispose();
        }
    }

    private string ReceiveText(ChannelHandle rx, out ReceivedPacket packet)
    {
        byte[] buffer = new byte[rx.Config.MaxPayload];
        ReceivedPacket? received = rx.Receive(buffer, ReceiveTimeoutNs);
        Assert.True(received.HasValue, $"nothing arrived on channel {rx.Id} within 2 s\n{Accounting.Describe(rx.ReadStats())}\n{fixture.Log}");
        packet = received.Value;
        return Encoding.UTF8.GetString(buffer, 0, packet.Length);
    }

    [Fact]
    public void Send_only_channel_runs_no_receiver_and_accepts_packets()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "dir-send-rx"));
        using ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "dir-send-tx", rx.BoundLocal));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));

        ChannelStats txStats = tx.ReadStats();
        Assert.Equal(WorkerState.Running, txStats.Sender.State);
        Assert.Equal(WorkerState.NotStarted, txStats.Receiver.State);
        Assert.Equal(0, txStats.Receiver.Heartbeat);
        ChannelStats rxStats = rx.ReadStats();
        Assert.Equal(WorkerState.NotStarted, rxStats.Sender.State);
        Assert.Equal(WorkerState.Running, rxStats.Receiver.State);

        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue("one way"u8, Libc.MonotonicNow() + 1_000_000, packetId: 1));
        Assert.Equal("one way", ReceiveText(rx, out ReceivedPacket packet));
        Assert.Equal(tx.BoundLocal, packet.Source);

        Accounting.WaitFinished(tx, 1);
        // A send-only channel never reads its socket.
        txStats = tx.ReadStats();
        Assert.Equal(0, txStats[ChannelCounter.Received]);
        Assert.Equal(0, txStats[ChannelCounter.RxCalls]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }

    [Fact]
    public void Receive_only_channel_refuses_to_enqueue()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "dir-recv"));
        Assert.Equal(EnqueueResult.NotAccepting, rx.TryEnqueue("x"u8, Libc.MonotonicNow(), packetId: 1));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(EnqueueResult.NotAccepting, rx.TryEnqueue("x"u8, Libc.MonotonicNow(), packetId: 2));

        ChannelStats stats = rx.ReadStats();
        Assert.Equal(WorkerState.NotStarted, stats.Sender.State);
        Assert.Equal(WorkerState.Running, stats.Receiver.State);
        Assert.Equal(0, stats[ChannelCounter.Enqueued]);
        Assert.Equal(0, stats[ChannelCounter.RejectedFull]);
        Accounting.AssertBalanced(rx);
        Delete(rx);
    }

    /// <summary>A free UDP port on loopback: bound, read, released. The engine then binds it (retried if someone took it meanwhile).</summary>
    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Two duplex channels, each the other's remote. One port must be known before either exists.</summary>
    private (ChannelHandle A, ChannelHandle B) DuplexPair()
    {
        for (int attempt = 0; ; attempt++)
        {
            var aLocal = new IPEndPoint(IPAddress.Loopback, FreeLoopbackPort());
            ChannelHandle b = fixture.Client.CreateChannel(new ChannelConfig
            {
                Id = fixture.NextId(),
                Name = "duplex-b",
                Direction = ChannelDirection.Duplex,
                Local = new IPEndPoint(IPAddress.Loopback, 0),
                Remote = aLocal,
                Capacity = 1024,
                MaxPayload = 2048,
            });
            try
            {
                ChannelHandle a = fixture.Client.CreateChannel(new ChannelConfig
                {
                    Id = fixture.NextId(),
                    Name = "duplex-a",
                    Direction = ChannelDirection.Duplex,
                    Local = aLocal,
                    Remote = b.BoundLocal,
                    Capacity = 1024,
                    MaxPayload = 2048,
                });
                return (a, b);
            }
            catch (EngineCommandException e) when (e.Status == EngineStatus.AlreadyExists && attempt < 5)
            {
                Delete(b);
            }
        }
    }

    [Fact]
    public void Duplex_channels_exchange_packets_both_ways()
    {
        (ChannelHandle a, ChannelHandle b) = DuplexPair();
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(a.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(b.Id));
        Assert.Equal(WorkerState.Running, a.ReadStats().Sender.State);
        Assert.Equal(WorkerState.Running, a.ReadStats().Receiver.State);

        const int count = 10;
        long due = Libc.MonotonicNow() + 1_000_000;
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, a.TryEnqueue(Encoding.UTF8.GetBytes($"a>b {i}"), due + (i * 100_000), packetId: i));
            Assert.Equal(EnqueueResult.Ok, b.TryEnqueue(Encoding.UTF8.GetBytes($"b>a {i}"), due + (i * 100_000), packetId: i));
        }

        for (int i = 0; i < count; i++)
        {
            Assert.Equal($"a>b {i}", ReceiveText(b, out ReceivedPacket atB));
            Assert.Equal(a.BoundLocal, atB.Source);
            Assert.Equal($"b>a {i}", ReceiveText(a, out ReceivedPacket atA));
            Assert.Equal(b.BoundLocal, atA.Source);
        }

        foreach (ChannelHandle channel in new[] { a, b })
        {
            ChannelStats stats = Accounting.WaitFinished(channel, count);
            Assert.Equal(count, stats[ChannelCounter.Sent]);
            Accounting.WaitReceiverIdle(channel);
            stats = channel.ReadStats();
            Assert.Equal(count, stats[ChannelCounter.Received]);
            Assert.Equal(count, stats[ChannelCounter.Drained]);
        }
        Accounting.AssertBalanced(a, b);
        Delete(a, b);
    }

    [Fact]
    public void Ipv6_loopback_flow_works()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "v6-rx", IPAddress.IPv6Loopback));
        Assert.Equal(AddressFamily.InterNetworkV6, rx.BoundLocal.AddressFamily);
        Assert.NotEqual(0, rx.BoundLocal.Port);
        using ChannelHandle tx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "v6-tx", rx.BoundLocal));
        Assert.Equal(IPAddress.IPv6Loopback, tx.BoundLocal.Address);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));

        long due = Libc.MonotonicNow() + 1_000_000;
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue("over ::1"u8, due, packetId: 6));
        Assert.Equal("over ::1", ReceiveText(rx, out ReceivedPacket packet));
        Assert.True(Libc.MonotonicNow() >= due);
        Assert.Equal(tx.BoundLocal, packet.Source);
        Assert.True(packet.KernelRealtimeNs > 0, "kernel RX timestamp missing");

        ChannelStats stats = Accounting.WaitFinished(tx, 1);
        Assert.Equal(1, stats[ChannelCounter.Sent]);
        Accounting.AssertBalanced(tx, rx);
        Delete(tx, rx);
    }
}
