using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;
using UdpSocket = RtUdp.Core.Engine.UdpSocket;
using RtUdp.Core.Engine.Send;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.NetworkErrors;

/// <summary>
/// The sendmmsg loop against the kernel's pending socket error: a connected UDP socket to a loopback port
/// nobody listens on, whose first datagram's ICMP port unreachable waits on the socket when the batch goes.
/// Runs as any user.
/// </summary>
public sealed unsafe class MessageBatchResendTests
{
    private sealed class Recorder
    {
        public readonly List<int> Sent = [];
        public readonly List<(int Slot, int Errno)> Resent = [];
        public readonly List<(int Slot, int Errno, bool AfterResends)> Dropped = [];
        public int TooBigAsked;
        public bool TooBig;
    }

    private readonly struct Observer(Recorder r) : ISendmmsgObserver
    {
        public void BeforeCall(int from, int count, bool firstAttempt)
        {
        }

        public void OnSent(int from, int sent)
        {
            for (int i = from; i < from + sent; i++)
            {
                r.Sent.Add(i);
            }
        }

        public void OnCallFailed(int errorNumber)
        {
        }

        public bool IsTooBig(int slot)
        {
            r.TooBigAsked++;
            return r.TooBig;
        }

        public void OnResent(int slot, int errorNumber) => r.Resent.Add((slot, errorNumber));

        public bool TakesOver(int slot, int errorNumber) => false;

        public void OnDropped(int slot, int errorNumber, bool afterResends) => r.Dropped.Add((slot, errorNumber, afterResends));
    }

    private static int ConnectedToClosedPort(bool recvErr)
    {
        int port;
        using (var closed = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        }
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        Assert.True(fd >= 0);
        if (recvErr)
        {
            int on = 1;
            Assert.Equal(0, setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(int)));
        }
        Connect(fd, port);
        return fd;
    }

    private static void Connect(int fd, int port)
    {
        byte* address = stackalloc byte[RtUdp.Core.Engine.SocketAddress.MaxLength];
        int length = RtUdp.Core.Engine.SocketAddress.Write(EndpointBlock.From(new IPEndPoint(IPAddress.Loopback, port)), address);
        Assert.Equal(0, connect(fd, (sockaddr*)address, (socklen_t)length));
    }

    /// <summary>One datagram sent, and its ICMP error pending on the socket (the kernel queues it before send returns, on loopback).</summary>
    private static void SendOneRefused(int fd)
    {
        byte one = 1;
        Assert.Equal(1, (int)send(fd, &one, 1, 0));
        pollfd error = new() { fd = fd, events = 0 };
        Assert.Equal(1, poll(&error, 1, 1000));
        Assert.True((error.revents & POLLERR) != 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_earlier_packets_refusal_sends_the_packet_again_and_drops_nothing(bool recvErr)
    {
        int fd = ConnectedToClosedPort(recvErr);
        byte* payload = (byte*)NativeMemory.AllocZeroed(16);
        using var batch = new MessageBatch(4);
        try
        {
            SendOneRefused(fd);
            for (int i = 0; i < 3; i++)
            {
                batch.SetPayload(i, payload, 16);
            }
            var recorder = new Recorder();
            var observer = new Observer(recorder);
            batch.Send(fd, 3, maxRetries: 10, ref observer);

            // The first call returned the pending ECONNREFUSED (and cleared it): slot 0 went again, and all three left.
            Assert.Equal([(0, Errno.ECONNREFUSED)], recorder.Resent);
            Assert.Equal([0, 1, 2], recorder.Sent);
            Assert.Empty(recorder.Dropped);
        }
        finally
        {
            NativeMemory.Free(payload);
            _ = close(fd);
        }
    }

    [Fact]
    public void A_packet_too_big_for_the_path_is_dropped_as_its_own_without_a_resend()
    {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int discover = IP_PMTUDISC_DO;
        Assert.Equal(0, setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &discover, sizeof(int)));
        Connect(fd, 9);
        int mtu = UdpSocket.PathMtu(fd, inet6: false);
        Assert.True(mtu > 0, "IP_MTU on a connected socket");
        int length = mtu; // plus 28 bytes of headers: larger than the path
        byte* payload = (byte*)NativeMemory.AllocZeroed((nuint)length);
        using var batch = new MessageBatch(2);
        try
        {
            batch.SetPayload(0, payload, length);
            batch.SetPayload(1, payload, 16);
            var recorder = new Recorder { TooBig = true };
            var observer = new Observer(recorder);
            batch.Send(fd, 2, maxRetries: 10, ref observer);
            Assert.Equal(1, recorder.TooBigAsked);
            Assert.Empty(recorder.Resent);
            Assert.Equal([(0, Errno.EMSGSIZE, false)], recorder.Dropped);
            Assert.Equal([1], recorder.Sent);
        }
        finally
        {
            NativeMemory.Free(payload);
            _ = close(fd);
        }
    }

    [Fact]
    public void A_network_error_that_is_the_packets_own_is_dropped_after_the_bounded_resends()
    {
        // A refusal pending before every call (the observer re-arms it, as a storm of ICMP errors would):
        // slot 0 is sent again at most MaxResends times, then given up, and the batch goes on.
        int fd = ConnectedToClosedPort(recvErr: false);
        byte* payload = (byte*)NativeMemory.AllocZeroed(16);
        using var batch = new MessageBatch(2);
        try
        {
            batch.SetPayload(0, payload, 16);
            var recorder = new Recorder();
            var observer = new StormObserver(recorder, fd);
            SendOneRefused(fd);
            batch.Send(fd, 1, maxRetries: 10, ref observer);
            Assert.Equal(MessageBatch.MaxResends, recorder.Resent.Count);
            Assert.Equal([(0, Errno.ECONNREFUSED, true)], recorder.Dropped);
            Assert.Empty(recorder.Sent);
        }
        finally
        {
            NativeMemory.Free(payload);
            _ = close(fd);
        }
    }

    /// <summary>An error storm: before each resend, another refusal arrives.</summary>
    private readonly struct StormObserver(Recorder r, int fd) : ISendmmsgObserver
    {
        public void BeforeCall(int from, int count, bool firstAttempt)
        {
        }

        public void OnSent(int from, int sent) => r.Sent.Add(from);

        public void OnCallFailed(int errorNumber)
        {
        }

        public bool IsTooBig(int slot) => false;

        public bool TakesOver(int slot, int errorNumber) => false;

        public void OnResent(int slot, int errorNumber)
        {
            r.Resent.Add((slot, errorNumber));
            SendOneRefused(fd);
        }

        public void OnDropped(int slot, int errorNumber, bool afterResends) => r.Dropped.Add((slot, errorNumber, afterResends));
    }
}
