using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Engine;

/// <summary>
/// GRO is had where setsockopt(SOL_UDP, UDP_GRO) takes it: gro on refuses the channel (FailedPrecondition
/// naming gro) where it does not, auto falls back with a note. The kernel refuses it on a socket that is not
/// UDP (ENOPROTOOPT), which stands in for a kernel without UDP GRO.
/// </summary>
public sealed class GroDecisionTests
{
    private static ChannelConfig Receiver(GroMode gro, ReceiveStrategy strategy = ReceiveStrategy.Poll) => new()
    {
        Id = 1,
        Name = "gro",
        Direction = ChannelDirection.Receive,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Gro = gro,
        ReceiveStrategy = strategy,
    };

    [Fact]
    public void On_is_refused_naming_gro_and_the_kernels_answer()
    {
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.DecideGro(GroMode.On, receives: true, Errno.ENOPROTOOPT, []));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal("gro", error.Field);
        Assert.Contains("UDP_GRO", error.Message, StringComparison.Ordinal);
        Assert.Contains("ENOPROTOOPT", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_falls_back_with_a_note()
    {
        List<string> notes = [];
        Assert.False(ChannelModePlan.DecideGro(GroMode.Auto, receives: true, Errno.ENOPROTOOPT, notes));
        string note = Assert.Single(notes);
        Assert.StartsWith("gro: off", note, StringComparison.Ordinal);
        Assert.Contains("ENOPROTOOPT", note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GroMode.Auto, true, 0, true)]
    [InlineData(GroMode.On, true, 0, true)]
    [InlineData(GroMode.Off, true, 0, false)]
    [InlineData(GroMode.Auto, false, 0, false)]
    public void Taken_where_asked_and_set(GroMode mode, bool receives, int errno, bool expected)
    {
        List<string> notes = [];
        Assert.Equal(expected, ChannelModePlan.DecideGro(mode, receives, errno, notes));
        Assert.Empty(notes);
    }

    [Fact]
    public void A_udp_socket_takes_gro_and_the_busy_poll_options()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        ReceiveSocketSetup setup = ReceiveSocketOptions.Apply((int)socket.Handle, Receiver(GroMode.On, ReceiveStrategy.BusyPoll));
        Assert.True(setup.Gro);
        Assert.Equal(ReceiveWait.Spin, setup.Wait);
        if (Environment.UserName == "root")
        {
            // Root has CAP_NET_ADMIN: every busy-poll option takes.
            Assert.True(setup.KernelBusyPoll);
            Assert.Empty(setup.Notes);
            byte[] value = new byte[4];
            Assert.Equal(4, socket.GetRawSocketOption(Tmds.Linux.LibC.SOL_SOCKET, Tmds.Linux.LibC.SO_BUSY_POLL, value));
            Assert.Equal(1000, BitConverter.ToInt32(value));
        }
    }

    [Fact]
    public void The_kernel_refusing_udp_gro_refuses_gro_on_and_notes_auto()
    {
        // A TCP socket has no UDP options: the kernel answers ENOPROTOOPT, as one without UDP GRO would.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var error = Assert.Throws<EngineCommandException>(() => ReceiveSocketOptions.Apply((int)socket.Handle, Receiver(GroMode.On)));
        Assert.Equal("gro", error.Field);
        Assert.Contains("ENOPROTOOPT", error.Message, StringComparison.Ordinal);

        ReceiveSocketSetup setup = ReceiveSocketOptions.Apply((int)socket.Handle, Receiver(GroMode.Auto));
        Assert.False(setup.Gro);
        Assert.Contains(setup.Notes, n => n.StartsWith("gro: off", StringComparison.Ordinal));
        Assert.Equal(ReceiveWait.Poll, setup.Wait);
    }
}
