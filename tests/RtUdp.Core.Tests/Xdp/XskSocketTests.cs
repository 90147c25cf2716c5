using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Net;
using RtUdp.Core.Xdp;
using Tmds.Linux;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The AF_XDP socket on a veth pair between two namespaces: copy-mode transmit into a plain UDP socket on the far side,
/// the zero-copy policy, bind errors, the receive rings' set-up, receiving what the steering program redirects,
/// and a hot path that allocates nothing. Frames are built by the product's <see cref="UdpFrameTemplate"/> (verified
/// against the kernel in <see cref="XdpNamespaceTests"/>); B's kernel checks every checksum of what arrives.
/// In the xdp collection: the receive test attaches a program with libxdp.
/// </summary>
[Collection(XdpCollection.Name)]
public sealed unsafe class XskSocketTests(XskNamespacePair pair, ITestOutputHelper output) : IClassFixture<XskNamespacePair>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private const int PayloadLength = 64;

    private static readonly XskOptions TxOnly = new()
    {
        ZeroCopy = XdpZeroCopyPolicy.Copy,
        RxFrames = 0,
        RxRingSize = 0,
        TxFrames = 256,
        TxRingSize = 256,
    };

    /// <param name="metadataLength">0, or room for xsk_tx_metadata in front of each frame (Linux 6.8+): then every
    /// packet carries a (flag-free) metadata block, and the kernel must find it where the socket put it.</param>
    [Theory]
    [InlineData(0)]
    [InlineData(24)]
    public void Copy_mode_frames_reach_a_udp_socket_in_the_peer_namespace_and_every_frame_completes(int metadataLength)
    {
        if (Skipped())
        {
            return;
        }
        using Socket receiver = ReceiverInB();
        ushort port = (ushort)((IPEndPoint)receiver.LocalEndPoint!).Port;
        XskOptions options = TxOnly with { TxMetadataLength = metadataLength };
        using XskSocket xsk = Open(options);
        Assert.False(xsk.ZeroCopy);
        UdpFrameTemplate template = Template(port);
        Assert.True(template.HeaderLength + PayloadLength <= xsk.TxDataCapacity);
        ulong* completedAddresses = stackalloc ulong[64];

        const int Total = 2000;
        var seen = new bool[Total];
        int sent = 0;
        int received = 0;
        int completed = 0;
        byte[] datagram = new byte[2048];
        var clock = Stopwatch.StartNew();
        while ((received < Total || xsk.TxInFlight > 0) && clock.Elapsed < Deadline)
        {
            if (sent < Total)
            {
                int n = xsk.ReserveTx(Math.Min(64, Total - sent));
                for (int slot = 0; slot < n; slot++)
                {
                    // Straight into the UMEM frame, as the engine's transmit path does: payload, then the headers in front.
                    byte* data = xsk.TxData(slot);
                    Payload(sent + slot).CopyTo(new Span<byte>(data + template.HeaderLength, PayloadLength));
                    xsk.SetTxLength(slot, template.Write(data, PayloadLength));
                    if (metadataLength > 0)
                    {
                        Libc.xsk_tx_metadata* metadata = xsk.RequestTxMetadata(slot);
                        Assert.Equal(0UL, metadata->flags);
                        Assert.Equal((ulong)metadata + (ulong)metadataLength, (ulong)xsk.TxData(slot));
                    }
                }
                xsk.SubmitTx(n);
                sent += n;
            }
            XdpKickResult kick = xsk.KickTx();
            Assert.True(kick != XdpKickResult.Failed, $"sendto failed: {Errno.Describe(xsk.LastTxKickErrno)}");
            int reaped = xsk.CompleteTx(64, completedAddresses);
            for (int i = 0; i < reaped; i++)
            {
                // The completion gives back the descriptor's own address: the frame's start plus the metadata room.
                Assert.Equal((ulong)metadataLength, completedAddresses[i] % (ulong)options.FrameSize);
            }
            completed += reaped;
            while (receiver.Available > 0)
            {
                int length = receiver.Receive(datagram);
                int index = int.Parse(Encoding.ASCII.GetString(datagram, 4, 6), System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(Payload(index), datagram.AsSpan(0, length).ToArray());
                Assert.False(seen[index], $"frame {index} arrived twice");
                seen[index] = true;
                received++;
            }
        }

        output.WriteLine($"sent {sent}, completed {completed}, received {received} in {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(Total, sent);
        Assert.Equal(Total, completed);
        Assert.Equal(Total, received);
        Assert.Equal(0, xsk.TxInFlight);
        Assert.Equal(options.TxFrames, xsk.TxFramesFree);
        Libc.xdp_statistics statistics = xsk.Statistics();
        Assert.Equal(0UL, statistics.tx_invalid_descs);
    }

    [Fact]
    public void Submitting_fewer_than_reserved_returns_the_rest_to_the_pool()
    {
        if (Skipped())
        {
            return;
        }
        using XskSocket xsk = Open(TxOnly);
        Assert.Equal(8, xsk.ReserveTx(8));
        Assert.Equal(TxOnly.TxFrames - 8, xsk.TxFramesFree);
        Assert.Equal(0, xsk.TxInFlight);
        xsk.SubmitTx(0);
        Assert.Equal(TxOnly.TxFrames, xsk.TxFramesFree);
        // The ring gave the cancelled descriptors back too: a full ring's worth can be reserved again.
        Assert.Equal(TxOnly.TxRingSize, xsk.ReserveTx(TxOnly.TxRingSize));
        xsk.SubmitTx(0);
        // A slot without a length would be dropped by the kernel without a completion (its frame lost): refused.
        Assert.Equal(1, xsk.ReserveTx(1));
        Assert.Throws<InvalidOperationException>(() => xsk.SubmitTx(1));
        xsk.SubmitTx(0);
        Assert.Equal(TxOnly.TxFrames, xsk.TxFramesFree);
    }

    [Fact]
    public void Zero_copy_required_on_veth_fails_saying_so_and_auto_falls_back_to_copy()
    {
        if (Skipped())
        {
            return;
        }
        XskException error = Assert.Throws<XskException>(() => Open(TxOnly with { ZeroCopy = XdpZeroCopyPolicy.Required }));
        output.WriteLine(error.Message);
        Assert.Equal("bind", error.Call);
        Assert.Equal(Errno.EOPNOTSUPP, error.Errno);
        Assert.Contains("zero-copy", error.Message, StringComparison.Ordinal);
        Assert.Contains(pair.VethA, error.Message, StringComparison.Ordinal);
        Assert.Contains("queue 0", error.Message, StringComparison.Ordinal);

        using XskSocket auto = Open(TxOnly with { ZeroCopy = XdpZeroCopyPolicy.Auto });
        Assert.False(auto.ZeroCopy);
        Assert.Equal(Errno.EOPNOTSUPP, auto.ZeroCopyRefusedErrno);
    }

    [Fact]
    public void Bind_errors_name_the_cause()
    {
        if (Skipped())
        {
            return;
        }
        XskException noDevice = Assert.Throws<XskException>(() => pair.InA(() => new XskSocket(999_999, 0, TxOnly)));
        output.WriteLine(noDevice.Message);
        Assert.Equal(Errno.ENODEV, noDevice.Errno);
        Assert.Contains("no interface has that index", noDevice.Message, StringComparison.Ordinal);

        XskException noQueue = Assert.Throws<XskException>(() => Open(TxOnly, queue: 5));
        output.WriteLine(noQueue.Message);
        Assert.Equal(Errno.EINVAL, noQueue.Errno);
        Assert.Equal(5u, noQueue.QueueId);
        Assert.Contains("queue id is beyond the device's queues", noQueue.Message, StringComparison.Ordinal);

        using XskSocket first = Open(TxOnly);
        // Straight to the constructor: no retry on EBUSY here, the first socket holds the queue.
        XskException busy = Assert.Throws<XskException>(() => pair.InA(() => new XskSocket(pair.IfindexA, 0, TxOnly)));
        output.WriteLine(busy.Message);
        Assert.Equal(Errno.EBUSY, busy.Errno);
        Assert.Contains("already owns this queue", busy.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kicking_on_an_interface_that_is_down_reports_the_errno_and_frames_stay_with_the_kernel()
    {
        if (Skipped())
        {
            return;
        }
        using XskSocket xsk = Open(TxOnly);
        byte[] frame = Frame(Template(9), Payload(0));
        int length = frame.Length;
        pair.IpInA("link", "set", pair.VethA, "down");
        try
        {
            Assert.Equal(1, xsk.ReserveTx(1));
            frame.AsSpan(0, length).CopyTo(new Span<byte>(xsk.TxData(0), length));
            xsk.SetTxLength(0, length);
            xsk.SubmitTx(1);
            Assert.Equal(XdpKickResult.Failed, xsk.KickTx());
            Assert.Equal(Errno.ENETDOWN, xsk.LastTxKickErrno);
            Assert.Equal(1, xsk.TxInFlight);
        }
        finally
        {
            pair.IpInA("link", "set", pair.VethA, "up");
        }

        // Up again: the same frame goes and completes.
        Wait.Until(() =>
        {
            _ = xsk.KickTx();
            _ = xsk.CompleteTx(64);
            return xsk.TxInFlight == 0;
        }, Deadline, () => $"the frame to complete once {pair.VethA} is up (last kick errno {Errno.Describe(xsk.LastTxKickErrno)})");
    }

    [Fact]
    public void Without_cap_net_raw_the_socket_call_fails_naming_the_capability()
    {
        if (Skipped())
        {
            return;
        }
        XskException error = Assert.Throws<XskException>(() => pair.InA(() =>
        {
            // Capabilities are per thread: this one (which ends with the lambda) gives up CAP_NET_RAW, nothing else does.
            var header = new Libc.__user_cap_header_struct { version = Libc._LINUX_CAPABILITY_VERSION_3 };
            Libc.__user_cap_data_struct* data = stackalloc Libc.__user_cap_data_struct[Libc._LINUX_CAPABILITY_U32S_3];
            Errno.Check(Libc.capget(&header, data), "capget");
            data[0].effective &= ~(1u << Libc.CAP_NET_RAW);
            Errno.Check(Libc.capset(&header, data), "capset");
            return new XskSocket(pair.IfindexA, 0, TxOnly);
        }));
        output.WriteLine(error.Message);
        Assert.Equal("socket(AF_XDP)", error.Call);
        Assert.Equal(Errno.EPERM, error.Errno);
        Assert.Contains("CAP_NET_RAW", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Receive_side_binds_with_every_rx_frame_in_the_fill_ring()
    {
        if (Skipped())
        {
            return;
        }
        var options = new XskOptions { ZeroCopy = XdpZeroCopyPolicy.Copy, RxFrames = 256, RxRingSize = 512, TxFrames = 64, TxRingSize = 64 };
        using XskSocket xsk = Open(options);
        Assert.True(xsk.Fd >= 0);
        Assert.Equal(256, xsk.FillOutstanding);
        Assert.Equal(0, xsk.RxFramesFree);
        Assert.Equal(0, xsk.RefillRx());
        // No XDP program redirects into the socket: nothing arrives, and peeking finds nothing.
        Assert.Equal(0, xsk.PeekRx(64));
        xsk.ReleaseRx();
        Assert.NotEqual(XdpKickResult.Failed, xsk.KickRx());
        Libc.xdp_statistics statistics = xsk.Statistics();
        Assert.Equal(0UL, statistics.rx_dropped);
        Assert.Equal(0UL, statistics.rx_invalid_descs);
        Assert.Equal(0UL, statistics.tx_invalid_descs);
    }

    [Fact]
    public void Packets_an_xdp_program_redirects_arrive_on_the_rx_ring_and_their_frames_recycle()
    {
        if (Skipped())
        {
            return;
        }
        // Fewer RX frames than packets: the test only passes if released frames go back through the fill ring.
        var options = new XskOptions { ZeroCopy = XdpZeroCopyPolicy.Copy, RxFrames = 64, RxRingSize = 64, TxFrames = 64, TxRingSize = 64 };
        using XskSocket xsk = Open(options);
        const ushort Port = 7000;
        // The product's steering program, in generic (SKB) mode, sends queue 0's datagrams to Port into the socket;
        // everything else (ARP, IPv6 neighbour discovery) passes to A's kernel.
        XdpSteeringProgram program = pair.InA(() => XdpSteeringProgram.Attach(pair.IfindexA, XdpAttachMode.Generic));
        try
        {
            Assert.Equal(XdpAttachMode.Generic, program.ModeInEffect);
            program.Steer(0, Port, xsk.Fd);
            ReceiveSteered(xsk, options, Port);
        }
        finally
        {
            pair.InA(program.Dispose);
        }
    }

    private void ReceiveSteered(XskSocket xsk, XskOptions options, ushort port)
    {
        using Socket sender = pair.UdpInB();
        var destination = new IPEndPoint(pair.AddressA, port);

        const int Total = 640;
        const int Batch = 32;
        int received = 0;
        int other = 0;
        for (int first = 0; first < Total; first += Batch)
        {
            for (int i = first; i < first + Batch; i++)
            {
                Assert.Equal(PayloadLength, sender.SendTo(Payload(i), destination));
            }
            int expected = first + Batch;
            Wait.Until(() =>
            {
                int n = xsk.PeekRx(64);
                for (int slot = 0; slot < n; slot++)
                {
                    ref readonly Libc.xdp_desc desc = ref xsk.RxDescriptor(slot);
                    var frame = new ReadOnlySpan<byte>(xsk.RxData(slot), (int)desc.len);
                    // IPv4/UDP to our port; anything else is counted (and must not be there: only the port is steered).
                    if (frame.Length == Ipv4UdpHeaderLength + PayloadLength && frame[12] == 0x08 && frame[13] == 0x00
                        && frame[23] == 17 && (frame[36] << 8 | frame[37]) == port)
                    {
                        Assert.Equal(Payload(received), frame[Ipv4UdpHeaderLength..].ToArray());
                        received++;
                    }
                    else
                    {
                        other++;
                    }
                }
                xsk.ReleaseRx();
                _ = xsk.RefillRx();
                Assert.NotEqual(XdpKickResult.Failed, xsk.KickRx());
                return received >= expected;
            }, Deadline, () => $"{expected} datagrams on the RX ring (have {received}, {other} other frames)");
        }

        output.WriteLine($"received {received} datagrams and {other} other frames through {options.RxFrames} RX frames");
        Assert.Equal(Total, received);
        Assert.Equal(0, other);
        Libc.xdp_statistics statistics = xsk.Statistics();
        Assert.Equal(0UL, statistics.rx_invalid_descs);
        Assert.Equal(0UL, statistics.rx_ring_full);
    }

    [Fact]
    public void Steady_state_send_and_receive_calls_allocate_nothing()
    {
        if (Skipped())
        {
            return;
        }
        var options = new XskOptions { ZeroCopy = XdpZeroCopyPolicy.Copy, RxFrames = 64, RxRingSize = 64, TxFrames = 128, TxRingSize = 128 };
        using XskSocket xsk = Open(options);
        // Port 9 in B has no listener: B drops the datagrams, which is all this test needs.
        byte[] template = Frame(Template(9), Payload(0));
        int length = template.Length;
        ulong* completedAddresses = stackalloc ulong[64];

        for (int round = 0; round < 3; round++)
        {
            // Round 0 warms up (JIT, first-call stubs); the later ones are measured.
            long before = GC.GetAllocatedBytesForCurrentThread();
            int completed = 0;
            int sent = 0;
            long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
            while ((sent < 512 || completed < sent) && Stopwatch.GetTimestamp() < until)
            {
                int n = sent < 512 ? xsk.ReserveTx(32) : 0;
                for (int slot = 0; slot < n; slot++)
                {
                    fixed (byte* source = template)
                    {
                        Buffer.MemoryCopy(source, xsk.TxData(slot), xsk.TxDataCapacity, length);
                    }
                    xsk.SetTxLength(slot, length);
                }
                xsk.SubmitTx(n);
                sent += n;
                _ = xsk.KickTx();
                completed += xsk.CompleteTx(64, completedAddresses);
                _ = xsk.PeekRx(16);
                xsk.ReleaseRx();
                _ = xsk.RefillRx();
                _ = xsk.KickRx();
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(512, completed);
            if (round > 0)
            {
                Assert.Equal(0, allocated);
            }
        }
    }

    private static byte[] Payload(int index)
    {
        byte[] payload = new byte[PayloadLength];
        Encoding.ASCII.GetBytes($"xsk {index:D6} ").CopyTo(payload, 0);
        for (int i = 11; i < payload.Length; i++)
        {
            payload[i] = (byte)(index + i);
        }
        return payload;
    }

    /// <summary>Ethernet + IPv4 + UDP: where a received datagram's payload starts (checked byte by byte, not with the product's parser).</summary>
    private const int Ipv4UdpHeaderLength = UdpFrameTemplate.EthernetHeaderLength + UdpFrameTemplate.Ipv4HeaderLength + UdpFrameTemplate.UdpHeaderLength;

    /// <summary>Frames from A (port 40000) to B's <paramref name="port"/>, with the MACs the kernel gave the veth ends.</summary>
    private UdpFrameTemplate Template(ushort port) =>
        UdpFrameTemplate.Create(pair.MacA, pair.MacB, new IPEndPoint(pair.AddressA, 40000), new IPEndPoint(pair.AddressB, port));

    private static byte[] Frame(UdpFrameTemplate template, byte[] payload)
    {
        byte[] frame = new byte[template.HeaderLength + payload.Length];
        payload.CopyTo(frame, template.HeaderLength);
        Assert.Equal(frame.Length, template.Write(frame, payload.Length));
        return frame;
    }

    private Socket ReceiverInB() => pair.InB(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        // Room for every datagram of the test even if the reader falls behind (SO_RCVBUFFORCE: above rmem_max, as root).
        int size = 16 << 20;
        Errno.Check(LibC.setsockopt((int)socket.Handle, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, &size, sizeof(int)), "setsockopt(SO_RCVBUFFORCE)");
        socket.Bind(new IPEndPoint(pair.AddressB, 0));
        return socket;
    });

    /// <summary>
    /// A socket on VethA's queue <paramref name="queue"/>, made in namespace A. The kernel frees a closed socket's
    /// queue in a deferred work item, so a bind just after the previous test's socket went may see EBUSY for a moment:
    /// retried (for at most 5 s) until the queue is free, then any other outcome stands.
    /// </summary>
    private XskSocket Open(XskOptions options, uint queue = 0)
    {
        long until = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 5;
        while (true)
        {
            try
            {
                return pair.InA(() => new XskSocket(pair.IfindexA, queue, options));
            }
            catch (XskException e) when (e.Errno == Errno.EBUSY && Stopwatch.GetTimestamp() < until)
            {
                Thread.Sleep(1);
            }
        }
    }

    private bool Skipped() => pair.Skips(output);
}
