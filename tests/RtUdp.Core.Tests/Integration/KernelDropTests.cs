using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Testing;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A receiving channel with a tiny socket buffer, flooded on loopback from a plain socket: what the kernel
/// drops before the receive worker reads it is counted in rx_dropped_kernel, exactly as the kernel counts it.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class KernelDropTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan FloodTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    [Fact]
    public void Datagrams_the_kernel_drops_at_the_socket_are_counted_exactly_and_across_a_restart()
    {
        ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "kdrop-rx") with
        {
            MaxPayload = 256,
            // SO_RCVBUF 4 KiB (the kernel doubles it): a handful of datagrams fill the queue.
            SocketBufferBytes = 4096,
            // One datagram per recvmmsg: the worker falls behind a burst sooner.
            BatchSize = 1,
        });
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        Assert.Equal(0, ProcNetUdp.Drops(rx.BoundLocal));

        long sent = UdpFlood.UntilKernelDrops(rx.BoundLocal, FloodTimeout);
        AssertCountedLikeTheKernel(rx, sent, "after the first flood");

        // Stopped: the last read as the worker stops leaves the count final.
        Assert.Equal(ChannelState.Stopped, fixture.Client.StopChannel(rx.Id));
        ChannelStats stopped = rx.ReadStats();
        Assert.Equal(sent, stopped[ChannelCounter.Received] + stopped[ChannelCounter.RxDroppedKernel]);
        Assert.Equal(ProcNetUdp.Drops(rx.BoundLocal), stopped[ChannelCounter.RxDroppedKernel]);

        // The socket outlives the stop: a new worker goes on from the count so far.
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(rx.Id));
        long before = stopped[ChannelCounter.RxDroppedKernel];
        sent += UdpFlood.UntilKernelDrops(rx.BoundLocal, FloodTimeout);
        ChannelStats after = AssertCountedLikeTheKernel(rx, sent, "after the second flood");
        Assert.True(after[ChannelCounter.RxDroppedKernel] > before);

        Accounting.AssertBalanced(rx);
        fixture.Client.DeleteChannel(rx.Id);
        rx.Dispose();
    }

    /// <summary>
    /// Every datagram sent was received or dropped by the kernel (loopback loses nothing else), and the
    /// engine's count is the kernel's. Waits: drops after the last datagram read are counted by the idle read.
    /// </summary>
    private ChannelStats AssertCountedLikeTheKernel(ChannelHandle rx, long sent, string when)
    {
        Wait.Until(
            () =>
            {
                ChannelStats s = rx.ReadStats();
                return s[ChannelCounter.Received] + s[ChannelCounter.RxDroppedKernel] == sent
                    && s[ChannelCounter.RxDroppedKernel] == ProcNetUdp.Drops(rx.BoundLocal);
            },
            Settle,
            () => $"{when}: sent {sent} = received + rx_dropped_kernel {rx.ReadStats()[ChannelCounter.RxDroppedKernel]}"
                + $" (the kernel's drops {ProcNetUdp.Drops(rx.BoundLocal)}): {Accounting.Describe(rx.ReadStats())}");
        ChannelStats stats = rx.ReadStats();
        output.WriteLine($"{when}: sent {sent}, received {stats[ChannelCounter.Received]}, dropped by the kernel {stats[ChannelCounter.RxDroppedKernel]}");
        Assert.True(stats[ChannelCounter.RxDroppedKernel] > 0);
        Assert.True(stats[ChannelCounter.Received] > 0);
        Assert.True(stats.RxBalanced, Accounting.Describe(stats));
        return stats;
    }
}
