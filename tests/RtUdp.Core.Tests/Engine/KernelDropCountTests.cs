using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Engine;
using RtUdp.Testing;

namespace RtUdp.Core.Tests.Engine;

/// <summary>The socket's wrapping u32 drop count, seen out of order, into a 64-bit total.</summary>
public sealed class KernelDropCountTests
{
    [Fact]
    public void Counts_only_newer_values_and_across_the_u32_wrap()
    {
        var count = new KernelDropCount(0);
        Assert.Equal(0, count.Observe(0));
        Assert.Equal(5, count.Observe(5));
        // A datagram queued before the last reading carries an older count: nothing new.
        Assert.Equal(0, count.Observe(3));
        Assert.Equal(0, count.Observe(5));
        Assert.Equal(2, count.Observe(7));

        var wrapping = new KernelDropCount(0x1_FFFF_FFF0L);
        Assert.Equal(0x10, wrapping.Observe(0));
        Assert.Equal(0, wrapping.Observe(0xFFFF_FFFF));
        Assert.Equal(3, wrapping.Observe(3));
    }

    [Fact]
    public void Reads_the_drop_count_the_kernel_shows_in_proc_net_udp()
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.ReceiveBufferSize = 4096;
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var local = (IPEndPoint)receiver.LocalEndPoint!;
        Assert.True(KernelDropCount.TryRead((int)receiver.Handle, out uint before, out int error), $"errno {error}");
        Assert.Equal(0u, before);

        UdpFlood.UntilKernelDrops(local, TimeSpan.FromSeconds(10));
        Assert.True(KernelDropCount.TryRead((int)receiver.Handle, out uint drops, out error), $"errno {error}");
        Assert.True(drops > 0);
        Assert.Equal(ProcNetUdp.Drops(local), drops);

        Assert.False(KernelDropCount.TryRead(-1, out _, out error));
        Assert.Equal(RtUdp.Core.Native.Errno.EBADF, error);
    }
}
