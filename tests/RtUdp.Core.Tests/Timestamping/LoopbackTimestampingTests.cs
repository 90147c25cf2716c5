using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Timestamping;

/// <summary>Real sockets on 127.0.0.1: what the kernel actually queues.</summary>
public sealed unsafe class LoopbackTimestampingTests(ITestOutputHelper output) : IDisposable
{
    private const int Datagrams = 5;
    private const long Second = 1_000_000_000;

    private readonly List<int> _fds = [];

    public void Dispose()
    {
        foreach (int fd in _fds)
        {
            _ = LibC.close(fd);
        }
    }

    [Fact]
    public void Tx_software_stamps_come_back_with_opt_id_in_order()
    {
        (int sender, int receiver) = ConnectedPair();
        int flags = Libc.SOF_TIMESTAMPING_TX_SOFTWARE | Libc.SOF_TIMESTAMPING_TX_SCHED | Libc.SOF_TIMESTAMPING_SOFTWARE
            | Libc.SOF_TIMESTAMPING_OPT_ID | Libc.SOF_TIMESTAMPING_OPT_TSONLY;
        Errno.Check(LibC.setsockopt(sender, LibC.SOL_SOCKET, LibC.SO_TIMESTAMPING, &flags, sizeof(int)), "setsockopt(SO_TIMESTAMPING)");
        using var reader = new ErrorQueueReader(sender, batch: 4);
        var drained = new ErrQueueMessage[4];
        Assert.Equal(0, reader.Drain(drained)); // empty queue: EAGAIN is 0, not an error

        long realtimeBefore = RealtimeNow();
        byte payload = 0;
        for (int i = 0; i < Datagrams; i++)
        {
            Assert.Equal(1, (int)LibC.send(sender, &payload, 1, 0));
        }

        var messages = new List<ErrQueueMessage>();
        long deadline = Libc.MonotonicNow() + (2 * Second);
        // SND and (if emitted) SCHED for each datagram; stop early once the last SND arrived and a
        // short grace period passed, so a SCHED stamp cannot be missed by racing the drain.
        long graceUntil = long.MaxValue;
        while (Libc.MonotonicNow() < Math.Min(deadline, graceUntil))
        {
            int n = reader.Drain(drained);
            Assert.True(n >= 0, $"Drain failed: {Errno.Describe(-n)}");
            for (int i = 0; i < n; i++)
            {
                messages.Add(drained[i]);
            }

            if (graceUntil == long.MaxValue && messages.Count(m => m.StampType == Libc.SCM_TSTAMP_SND) == Datagrams)
            {
                graceUntil = Libc.MonotonicNow() + (50 * 1_000_000);
            }

            if (n == 0)
            {
                Thread.Sleep(1);
            }
        }

        long realtimeAfter = RealtimeNow();
        foreach (ErrQueueMessage m in messages)
        {
            output.WriteLine($"type={m.StampType} id={m.StampId} sw={m.SoftwareNs} hw={m.HardwareNs}");
        }

        Assert.All(messages, m =>
        {
            Assert.Equal(ErrQueueKind.TxTimestamp, m.Kind);
            Assert.Equal(Errno.ENOMSG, m.Errno);
            Assert.Equal(0, m.HardwareNs);
            Assert.InRange(m.SoftwareNs, realtimeBefore, realtimeAfter);
            Assert.Equal(StampSource.Software, m.BestSource);
        });
        Assert.Equal([0u, 1u, 2u, 3u, 4u], messages.Where(m => m.StampType == Libc.SCM_TSTAMP_SND).Select(m => m.StampId));

        // Observed on this kernel (6.18, lo with noqueue): __dev_queue_xmit emits SCHED before the
        // qdisc check, so lo produces a SCHED stamp for every datagram, ahead of its SND stamp.
        List<ErrQueueMessage> sched = messages.Where(m => m.StampType == Libc.SCM_TSTAMP_SCHED).ToList();
        Assert.Equal([0u, 1u, 2u, 3u, 4u], sched.Select(m => m.StampId));
        Assert.Equal(2 * Datagrams, messages.Count);
        for (uint id = 0; id < Datagrams; id++)
        {
            ErrQueueMessage s = sched.Single(m => m.StampId == id);
            ErrQueueMessage d = messages.Single(m => m.StampId == id && m.StampType == Libc.SCM_TSTAMP_SND);
            Assert.True(s.SoftwareNs <= d.SoftwareNs, $"SCHED after SND for id {id}");
            Assert.True(messages.IndexOf(s) < messages.IndexOf(d), $"SCHED queued after SND for id {id}");
        }

        Assert.Equal(0, reader.Errors);
        Assert.Equal(0, reader.Malformed);
        Assert.Equal(0, reader.ControlTruncated);
        Assert.Equal(messages.Count, reader.Received);

        // The receiver got the payloads (OPT_TSONLY strips only the error-queue copies).
        byte buffer;
        for (int i = 0; i < Datagrams; i++)
        {
            Assert.Equal(1, (int)LibC.recv(receiver, &buffer, 1, LibC.MSG_DONTWAIT));
        }
    }

    [Fact]
    public void Steady_state_paths_allocate_nothing()
    {
        (int sender, _) = ConnectedPair();
        int flags = Libc.SOF_TIMESTAMPING_TX_SOFTWARE | Libc.SOF_TIMESTAMPING_SOFTWARE
            | Libc.SOF_TIMESTAMPING_OPT_ID | Libc.SOF_TIMESTAMPING_OPT_TSONLY;
        Errno.Check(LibC.setsockopt(sender, LibC.SOL_SOCKET, LibC.SO_TIMESTAMPING, &flags, sizeof(int)), "setsockopt(SO_TIMESTAMPING)");
        using var reader = new ErrorQueueReader(sender, batch: 8);
        ErrQueueMessage* drained = stackalloc ErrQueueMessage[8];
        long* seqlockMemory = stackalloc long[4];
        var seqlock = new SeqLockedOffset(seqlockMemory);
        byte* control = stackalloc byte[TxTimeControl.Space];
        byte payload = 0;

        int received = 0;
        for (int round = 0; round < 2; round++)
        {
            // Round 0 warms up (JIT, first-call stubs); round 1 is measured.
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 8; i++)
            {
                _ = LibC.send(sender, &payload, 1, 0);
            }

            long until = Libc.MonotonicNow() + Second;
            int got = 0;
            while (got < 8 && Libc.MonotonicNow() < until)
            {
                int n = reader.Drain(new Span<ErrQueueMessage>(drained, 8));
                got += Math.Max(n, 0);
            }

            _ = reader.Drain(new Span<ErrQueueMessage>(drained, 8)); // the EAGAIN path
            ClockOffset offset = ClockSampler.Sample(Libc.CLOCK_REALTIME);
            seqlock.Publish(offset);
            _ = seqlock.TryRead(out _);
            TxTimeControl.Write(control, (ulong)offset.FromMonotonic(Libc.MonotonicNow()));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            received = got;
            if (round == 1)
            {
                Assert.Equal(0, allocated);
            }
        }

        Assert.Equal(8, received);
    }

    [Fact]
    public void Icmp_port_unreachable_arrives_as_econnrefused()
    {
        int sender = Socket();
        int on = 1;
        Errno.Check(LibC.setsockopt(sender, LibC.SOL_IP, LibC.IP_RECVERR, &on, sizeof(int)), "setsockopt(IP_RECVERR)");
        // A port nobody listens on: bind a socket to learn a free port, then close it.
        int closed = Socket();
        sockaddr_in address = Loopback();
        socklen_t length = sizeof(sockaddr_in);
        Errno.Check(LibC.bind(closed, (sockaddr*)&address, length), "bind");
        Errno.Check(LibC.getsockname(closed, (sockaddr*)&address, &length), "getsockname");
        _fds.Remove(closed);
        _ = LibC.close(closed);
        Errno.Check(LibC.connect(sender, (sockaddr*)&address, length), "connect");

        byte payload = 1;
        Assert.Equal(1, (int)LibC.send(sender, &payload, 1, 0));

        using var reader = new ErrorQueueReader(sender, batch: 2);
        var drained = new ErrQueueMessage[2];
        int n = 0;
        long deadline = Libc.MonotonicNow() + (2 * Second);
        while (n == 0 && Libc.MonotonicNow() < deadline)
        {
            n = reader.Drain(drained);
            Assert.True(n >= 0, $"Drain failed: {Errno.Describe(-n)}");
            if (n == 0)
            {
                Thread.Sleep(1);
            }
        }

        Assert.Equal(1, n);
        Assert.Equal(ErrQueueKind.Icmp, drained[0].Kind);
        Assert.Equal(Errno.ECONNREFUSED, drained[0].Errno);
        Assert.Equal(3, drained[0].Type); // ICMP_DEST_UNREACH
        Assert.Equal(3, drained[0].Code); // ICMP_PORT_UNREACH
    }

    [Fact]
    public void Drain_on_a_closed_descriptor_returns_minus_ebadf_without_throwing()
    {
        int fd = Socket();
        _fds.Remove(fd);
        _ = LibC.close(fd);
        using var reader = new ErrorQueueReader(fd, batch: 1);

        Assert.Equal(-Errno.EBADF, reader.Drain(new ErrQueueMessage[1]));
        Assert.Equal(1, reader.Errors);
        Assert.Equal(Errno.EBADF, reader.LastErrno);
    }

    [Fact]
    public void So_txtime_enables_and_a_txtime_datagram_is_delivered_without_a_qdisc()
    {
        (int sender, int receiver) = ConnectedPair();
        SockTxtime.Enable(sender, Libc.CLOCK_TAI, deadlineMode: true);

        Libc.sock_txtime readBack;
        socklen_t size = sizeof(Libc.sock_txtime);
        Errno.Check(LibC.getsockopt(sender, LibC.SOL_SOCKET, Libc.SO_TXTIME, &readBack, &size), "getsockopt(SO_TXTIME)");
        Assert.Equal(Libc.CLOCK_TAI, readBack.clockid);
        Assert.Equal((uint)(Libc.SOF_TXTIME_DEADLINE_MODE | Libc.SOF_TXTIME_REPORT_ERRORS), readBack.flags);

        SockTxtime.Enable(sender, Libc.CLOCK_MONOTONIC, deadlineMode: false);
        Errno.Check(LibC.getsockopt(sender, LibC.SOL_SOCKET, Libc.SO_TXTIME, &readBack, &size), "getsockopt(SO_TXTIME)");
        Assert.Equal((uint)Libc.SOF_TXTIME_REPORT_ERRORS, readBack.flags);

        byte* control = stackalloc byte[TxTimeControl.Space];
        TxTimeControl.Write(control, (ulong)(Libc.MonotonicNow() + 1_000_000));
        byte payload = 42;
        iovec iov = default;
        iov.iov_base = &payload;
        iov.iov_len = 1;
        msghdr message = default;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = TxTimeControl.Space;
        Assert.Equal(1, (int)Errno.Check((long)LibC.sendmsg(sender, &message, 0), "sendmsg"));

        var timeout = new Timeval { tv_sec = 2 };
        Errno.Check(LibC.setsockopt(receiver, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &timeout, sizeof(Timeval)), "setsockopt");
        byte received = 0;
        Assert.Equal(1, (int)LibC.recv(receiver, &received, 1, 0));
        Assert.Equal(42, received);
    }

    private (int Sender, int Receiver) ConnectedPair()
    {
        int receiver = Socket();
        int sender = Socket();
        sockaddr_in address = Loopback();
        socklen_t length = sizeof(sockaddr_in);
        Errno.Check(LibC.bind(receiver, (sockaddr*)&address, length), "bind");
        Errno.Check(LibC.getsockname(receiver, (sockaddr*)&address, &length), "getsockname");
        Errno.Check(LibC.connect(sender, (sockaddr*)&address, length), "connect");
        return (sender, receiver);
    }

    private static sockaddr_in Loopback()
    {
        sockaddr_in address = default;
        address.sin_family = LibC.AF_INET;
        address.sin_addr.s_addr[0] = 127;
        address.sin_addr.s_addr[3] = 1;
        return address;
    }

    private int Socket()
    {
        int fd = Errno.Check(LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM, LibC.IPPROTO_UDP), "socket");
        _fds.Add(fd);
        return fd;
    }

    private static long RealtimeNow()
    {
        timespec ts;
        Errno.Check(Libc.clock_gettime(Libc.CLOCK_REALTIME, &ts), "clock_gettime");
        return Libc.ToNanoseconds(ts);
    }

    private struct Timeval
    {
        public long tv_sec;
        public long tv_usec;
    }
}
