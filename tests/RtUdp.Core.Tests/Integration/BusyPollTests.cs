using System.Diagnostics;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// The busy-poll receive strategy on loopback: the mode says Spin (loopback has no NAPI queue to poll), a
/// reflector returns every datagram of a ping-pong and counts the reads its spin found, the worker keeps its
/// heartbeat while it spins, and a stop ends the spin at once.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class BusyPollTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void A_busy_polling_reflector_returns_every_datagram_and_counts_its_hits()
    {
        // A window of 200 ms: the ping-pong below keeps the worker spinning from one datagram to the next.
        ChannelHandle reflector = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "bp-reflect") with
        {
            Flags = ChannelFlags.Reflect,
            ReceiveStrategy = ReceiveStrategy.BusyPoll,
            BusyPollNs = 200_000_000,
        });
        Assert.Equal((int)ReceiveWait.Spin, reflector.ReadStats().Mode.ReceiveWait);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(reflector.Id));
        using var pinger = new GsoSender(reflector.BoundLocal);
        pinger.Socket.ReceiveTimeout = (int)Timeout.TotalMilliseconds;

        const int RoundTrips = 300;
        byte[] buffer = new byte[2048];
        for (int i = 0; i < RoundTrips; i++)
        {
            byte[] payload = BitConverter.GetBytes(i);
            pinger.Send(payload, 0);
            int length = pinger.Socket.Receive(buffer);
            Assert.Equal(payload, buffer[..length]);
        }

        Wait.Until(() => reflector.ReadStats()[ChannelCounter.Reflected] == RoundTrips, Timeout, () => Accounting.Describe(reflector.ReadStats()));
        ChannelStats stats = reflector.ReadStats();
        output.WriteLine($"busy-poll hits {stats[ChannelCounter.RxBusyPollHits]} of {stats[ChannelCounter.RxCalls]} reads with data; budget exhausted {stats[ChannelCounter.RxBusyPollBudgetExhausted]}");
        // Every datagram after the first arrived within the window: read by the spin, not after a poll wake-up
        // (a preemption of the test thread longer than the window would end one spin: allow a few).
        Assert.InRange(stats[ChannelCounter.RxBusyPollHits], RoundTrips - 10, stats[ChannelCounter.RxCalls]);
        Assert.Equal(0, stats[ChannelCounter.RxBusyPollBudgetExhausted]);
        // Still Spin: loopback shows no NAPI id.
        Assert.Equal((int)ReceiveWait.Spin, stats.Mode.ReceiveWait);
        Accounting.AssertBalanced(reflector);
        fixture.Client.DeleteChannel(reflector.Id);
        reflector.Dispose();
    }

    [Fact]
    public void The_worker_beats_while_it_spins_and_a_stop_ends_the_spin_at_once()
    {
        // The longest window there is: a worker that only stopped after it would take a second.
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "bp-stop") with
        {
            ReceiveStrategy = ReceiveStrategy.BusyPoll,
            BusyPollNs = 1_000_000_000,
        });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SendTo(new byte[16], rx.BoundLocal);
        byte[] buffer = new byte[2048];
        Assert.NotNull(rx.Receive(buffer, (long)Timeout.TotalNanoseconds));

        // Spinning now (for a second after that datagram): the heartbeat goes on at every read, far faster than
        // the poll's 100 ms.
        long beat = Volatile.Read(ref rx.Region.Health(sendWorker: false, WorkerHealthField.Heartbeat));
        Wait.Until(() => Volatile.Read(ref rx.Region.Health(sendWorker: false, WorkerHealthField.Heartbeat)) > beat + 1000, TimeSpan.FromMilliseconds(500), "the spinning worker to beat 1000 times");

        var stopwatch = Stopwatch.StartNew();
        Assert.Equal(ChannelState.Stopped, fixture.Client.StopChannel(rx.Id));
        stopwatch.Stop();
        output.WriteLine($"stopped in {stopwatch.Elapsed.TotalMilliseconds:0.0} ms while spinning");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(500), $"the stop took {stopwatch.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal((long)WorkerState.Stopped, Volatile.Read(ref rx.Region.Health(sendWorker: false, WorkerHealthField.State)));
        Accounting.AssertBalanced(rx);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }

    /// <summary>
    /// Ring to worker: a duplex busy-poll channel's send worker watches the TX ring between packets that come
    /// within busy_poll_ns, instead of parking on its futex (send_waits) after each, as a poll channel's does.
    /// </summary>
    [Fact]
    public void A_busy_poll_channels_send_worker_spins_on_its_ring_between_packets_instead_of_parking()
    {
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var remote = (System.Net.IPEndPoint)sink.LocalEndPoint!;
        // Timestamps off: no TX stamps to collect, so nothing but the ring wakes the worker.
        long polled = SendWaitsFor(TestChannels.Sender(fixture.NextId(), "bp-tx-poll", remote) with { Direction = ChannelDirection.Duplex, Timestamps = TimestampMode.Off });
        long spun = SendWaitsFor(TestChannels.Sender(fixture.NextId(), "bp-tx-spin", remote) with
        {
            Direction = ChannelDirection.Duplex,
            Timestamps = TimestampMode.Off,
            ReceiveStrategy = ReceiveStrategy.BusyPoll,
            BusyPollNs = 200_000_000,
        });
        output.WriteLine($"send worker parks over 100 packets 200 us apart: poll {polled}, busy-poll {spun}");
        // Poll: a park after nearly every packet. Busy-poll: after the first, the worker never parks while packets keep
        // coming (a preemption of this thread longer than the window would let it park once more: allow a few).
        Assert.True(polled >= 50, $"poll channel parked {polled} times");
        Assert.True(spun <= 10, $"busy-poll channel parked {spun} times");
    }

    private long SendWaitsFor(ChannelConfig config)
    {
        ChannelHandle tx = fixture.Client.CreateChannel(config);
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        // The first packet wakes the parked worker; the window counts from there.
        Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(new byte[16], Libc.MonotonicNow(), packetId: 0, immediate: true));
        Accounting.WaitFinished(tx, 1);
        long before = tx.ReadStats()[ChannelCounter.SendWaits];
        for (int i = 1; i <= 100; i++)
        {
            long next = Libc.MonotonicNow() + 200_000;
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(new byte[16], Libc.MonotonicNow(), packetId: i, immediate: true));
            while (Libc.MonotonicNow() < next)
            {
                Thread.SpinWait(10);
            }
        }
        ChannelStats stats = Accounting.WaitFinished(tx, 101);
        long waits = stats[ChannelCounter.SendWaits] - before;
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
        tx.Dispose();
        return waits;
    }

    [Fact]
    public void A_poll_channel_reports_poll_and_its_socket_gets_no_busy_poll()
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "bp-poll"));
        Assert.Equal((int)ReceiveWait.Poll, rx.ReadStats().Mode.ReceiveWait);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }
}
