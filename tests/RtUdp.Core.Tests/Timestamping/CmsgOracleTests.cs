using System.Globalization;
using RtUdp.Core.Engine;
using RtUdp.Core.Engine.Send;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Timestamping;

/// <summary>
/// gcc is the oracle for control-message layout: a C program builds the buffers with
/// CMSG_FIRSTHDR/CMSG_NXTHDR/CMSG_DATA and prints them byte by byte, and reports the CMSG sizes.
/// </summary>
public sealed class CmsgOracleTests(CmsgOracleTests.Probe probe) : IClassFixture<CmsgOracleTests.Probe>
{
    private const ulong TxTime = 0x0123_4567_89AB_CDEFUL;

    [Fact]
    public unsafe void TxTimeControl_bytes_match_gcc()
    {
        Assert.Equal(TxTimeControl.Space, probe.Get("txtime_space"));
        Assert.Equal(TxTimeControl.Length, probe.Get("txtime_len"));

        byte* buffer = stackalloc byte[TxTimeControl.Space];
        new Span<byte>(buffer, TxTimeControl.Space).Fill(0xAA);
        TxTimeControl.Write(buffer, TxTime);

        byte[] expected = probe.Bytes("txtime", TxTimeControl.Space);
        Assert.Equal(expected, new Span<byte>(buffer, TxTimeControl.Space).ToArray());

        byte[] viaSpan = new byte[TxTimeControl.Space];
        TxTimeControl.Write(viaSpan, TxTime);
        Assert.Equal(expected, viaSpan);
        Assert.Throws<ArgumentOutOfRangeException>(() => TxTimeControl.Write(new byte[TxTimeControl.Space - 1], 1));
    }

    [Fact]
    public unsafe void UdpSegmentControl_then_TxTimeControl_bytes_match_gcc()
    {
        Assert.Equal(UdpSegmentControl.Space, probe.Get("segment_space"));
        Assert.Equal(UdpSegmentControl.Length, probe.Get("segment_len"));
        Assert.Equal(Libc.SOL_UDP, probe.Get("sol_udp"));

        // A train with a launch time: UDP_SEGMENT first, SCM_TXTIME where CMSG_NXTHDR puts it.
        int space = UdpSegmentControl.Space + TxTimeControl.Space;
        Assert.Equal(space, probe.Get("train_len"));
        byte* buffer = stackalloc byte[space];
        new Span<byte>(buffer, space).Fill(0xAA);
        UdpSegmentControl.Write(buffer, 1472);
        TxTimeControl.Write(buffer + UdpSegmentControl.Space, TxTime);
        Assert.Equal(probe.Bytes("train", space), new Span<byte>(buffer, space).ToArray());
    }

    [Fact]
    public void Sizes_match_gcc()
    {
        Assert.Equal(ErrorQueue.CmsgHeaderSize, probe.Get("cmsg_len0"));
        Assert.Equal(ErrorQueue.SockExtendedErrSize, probe.Get("sizeof_ee"));
        Assert.Equal(ErrorQueue.ScmTimestampingSize, probe.Get("sizeof_scm_ts"));
        // Both messages of one TX timestamp, with the largest (IPv6) offender address, must fit.
        Assert.True(ErrorQueueReader.ControlBytesPerMessage >= probe.Get("errqueue_need"),
            $"control buffer {ErrorQueueReader.ControlBytesPerMessage} < {probe.Get("errqueue_need")}");
    }

    [Fact]
    public void Parses_a_control_buffer_built_by_gcc()
    {
        byte[] control = probe.Bytes("errq", (int)probe.Get("errq_len"));

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.TxTimestamp, m.Kind);
        Assert.Equal(Errno.ENOMSG, m.Errno);
        Assert.Equal(Libc.SCM_TSTAMP_SCHED, m.StampType);
        Assert.Equal(77u, m.StampId);
        Assert.Equal(1_700_000_000_123_456_789, m.SoftwareNs);
        Assert.Equal(37_000_000_005, m.HardwareNs);
    }

    [Fact]
    public unsafe void Receive_control_holds_and_parses_the_timestamps_and_drop_count_built_by_gcc()
    {
        Assert.True(ReceiveControl.BytesPerMessage >= probe.Get("rx_need"), $"control buffer {ReceiveControl.BytesPerMessage} < {probe.Get("rx_need")}");
        byte[] control = probe.Bytes("rxctl", (int)probe.Get("rxctl_len"));
        fixed (byte* buffer = control)
        {
            msghdr header = new() { msg_control = buffer, msg_controllen = (socklen_t)control.Length };
            ReceiveControl parsed = ReceiveControl.Parse(&header);
            Assert.Equal(1_700_000_000_123_456_789, parsed.SoftwareNs);
            Assert.Equal(37_000_000_005, parsed.HardwareNs);
            Assert.True(parsed.HasDropCount);
            Assert.Equal(0xFFFF_FFF0u, parsed.DropCount);

            // Before the socket drops anything the kernel sends no SO_RXQ_OVFL: only the stamps.
            header.msg_controllen = (socklen_t)(control.Length - 24);
            parsed = ReceiveControl.Parse(&header);
            Assert.False(parsed.HasDropCount);
            Assert.Equal(1_700_000_000_123_456_789, parsed.SoftwareNs);
            Assert.Equal(0, parsed.SegmentSize);
        }
    }

    [Fact]
    public unsafe void Receive_control_holds_and_parses_the_gro_segment_size_built_by_gcc()
    {
        Assert.Equal(Libc.SOL_UDP, probe.Get("sol_udp"));
        Assert.Equal(Libc.UDP_GRO, probe.Get("udp_gro"));
        Assert.Equal(Libc.UDP_SEGMENT, probe.Get("udp_segment"));
        Assert.True(ReceiveControl.BytesPerMessage >= probe.Get("groctl_len"), $"control buffer {ReceiveControl.BytesPerMessage} < {probe.Get("groctl_len")}");
        byte[] control = probe.Bytes("groctl", (int)probe.Get("groctl_len"));
        fixed (byte* buffer = control)
        {
            msghdr header = new() { msg_control = buffer, msg_controllen = (socklen_t)control.Length };
            ReceiveControl parsed = ReceiveControl.Parse(&header);
            Assert.Equal(1400, parsed.SegmentSize);
            Assert.Equal(1_700_000_000_123_456_789, parsed.SoftwareNs);
            Assert.Equal(37_000_000_005, parsed.HardwareNs);
            Assert.True(parsed.HasDropCount);
            Assert.Equal(0xFFFF_FFF0u, parsed.DropCount);
        }
    }

    private const string Source = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <stdio.h>
        #include <stdint.h>
        #include <string.h>
        #include <time.h>
        #include <sys/socket.h>
        #include <netinet/in.h>
        #include <netinet/udp.h>
        #include <linux/errqueue.h>
        #include <linux/net_tstamp.h>

        static void dump(const char *name, const unsigned char *p, size_t n)
        {
            for (size_t i = 0; i < n; i++)
                printf("%s.%zu %u\n", name, i, p[i]);
        }

        int main(void)
        {
            union { char buf[CMSG_SPACE(sizeof(uint64_t))]; struct cmsghdr align; } tx;
            memset(&tx, 0, sizeof tx);
            struct msghdr m = { 0 };
            m.msg_control = tx.buf;
            m.msg_controllen = sizeof tx.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(&m);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_TXTIME;
            c->cmsg_len = CMSG_LEN(sizeof(uint64_t));
            uint64_t t = 0x0123456789ABCDEFULL;
            memcpy(CMSG_DATA(c), &t, sizeof t);
            printf("txtime_space %zu\n", (size_t)CMSG_SPACE(sizeof(uint64_t)));
            printf("txtime_len %zu\n", (size_t)CMSG_LEN(sizeof(uint64_t)));
            dump("txtime", (unsigned char *)tx.buf, sizeof tx.buf);

            /* A GSO train's control: UDP_SEGMENT (u16 gso_size), then SCM_TXTIME. */
            union { char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(uint64_t))]; struct cmsghdr align; } train;
            memset(&train, 0, sizeof train);
            struct msghdr g = { 0 };
            g.msg_control = train.buf;
            g.msg_controllen = sizeof train.buf;
            c = CMSG_FIRSTHDR(&g);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gso = 1472;
            memcpy(CMSG_DATA(c), &gso, sizeof gso);
            c = CMSG_NXTHDR(&g, c);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_TXTIME;
            c->cmsg_len = CMSG_LEN(sizeof(uint64_t));
            memcpy(CMSG_DATA(c), &t, sizeof t);
            printf("segment_space %zu\n", (size_t)CMSG_SPACE(sizeof(uint16_t)));
            printf("segment_len %zu\n", (size_t)CMSG_LEN(sizeof(uint16_t)));
            printf("sol_udp %d\n", SOL_UDP);
            printf("train_len %zu\n", sizeof train.buf);
            dump("train", (unsigned char *)train.buf, sizeof train.buf);

            printf("cmsg_len0 %zu\n", (size_t)CMSG_LEN(0));
            printf("sizeof_ee %zu\n", sizeof(struct sock_extended_err));
            printf("sizeof_scm_ts %zu\n", sizeof(struct scm_timestamping));
            printf("errqueue_need %zu\n", (size_t)(CMSG_SPACE(sizeof(struct scm_timestamping))
                + CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6))));

            /* What the kernel queues for a TX timestamp: SCM_TIMESTAMPING, then IP_RECVERR. */
            union { char buf[256]; struct cmsghdr align; } eq;
            memset(&eq, 0, sizeof eq);
            struct msghdr e = { 0 };
            e.msg_control = eq.buf;
            e.msg_controllen = CMSG_SPACE(sizeof(struct scm_timestamping))
                + CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in));
            c = CMSG_FIRSTHDR(&e);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_TIMESTAMPING;
            c->cmsg_len = CMSG_LEN(sizeof(struct scm_timestamping));
            struct scm_timestamping ts = { 0 };
            ts.ts[0].tv_sec = 1700000000; ts.ts[0].tv_nsec = 123456789;
            ts.ts[2].tv_sec = 37; ts.ts[2].tv_nsec = 5;
            memcpy(CMSG_DATA(c), &ts, sizeof ts);
            c = CMSG_NXTHDR(&e, c);
            c->cmsg_level = SOL_IP;
            c->cmsg_type = IP_RECVERR;
            c->cmsg_len = CMSG_LEN(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in));
            struct sock_extended_err ee = { 0 };
            ee.ee_errno = ENOMSG;
            ee.ee_origin = SO_EE_ORIGIN_TIMESTAMPING;
            ee.ee_info = SCM_TSTAMP_SCHED;
            ee.ee_data = 77;
            memcpy(CMSG_DATA(c), &ee, sizeof ee);
            printf("errq_len %zu\n", (size_t)e.msg_controllen);
            dump("errq", (unsigned char *)eq.buf, e.msg_controllen);

            /* What the kernel attaches to a datagram read from a receiving channel's socket. */
            printf("rx_need %zu\n", (size_t)(CMSG_SPACE(sizeof(struct scm_timestamping)) + CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int))));
            union { char buf[256]; struct cmsghdr align; } rq;
            memset(&rq, 0, sizeof rq);
            struct msghdr r = { 0 };
            r.msg_control = rq.buf;
            r.msg_controllen = CMSG_SPACE(sizeof(struct scm_timestamping)) + CMSG_SPACE(sizeof(uint32_t));
            c = CMSG_FIRSTHDR(&r);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_TIMESTAMPING;
            c->cmsg_len = CMSG_LEN(sizeof(struct scm_timestamping));
            memcpy(CMSG_DATA(c), &ts, sizeof ts);
            c = CMSG_NXTHDR(&r, c);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SO_RXQ_OVFL;
            c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
            uint32_t drops = 0xFFFFFFF0u;
            memcpy(CMSG_DATA(c), &drops, sizeof drops);
            printf("rxctl_len %zu\n", (size_t)r.msg_controllen);
            dump("rxctl", (unsigned char *)rq.buf, r.msg_controllen);

            /* A coalesced datagram on a UDP_GRO socket: the stamps, the drop count, then UDP_GRO's gso_size. */
            union { char buf[256]; struct cmsghdr align; } gq;
            memset(&gq, 0, sizeof gq);
            struct msghdr gr = { 0 };
            gr.msg_control = gq.buf;
            gr.msg_controllen = CMSG_SPACE(sizeof(struct scm_timestamping)) + CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int));
            c = CMSG_FIRSTHDR(&gr);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_TIMESTAMPING;
            c->cmsg_len = CMSG_LEN(sizeof(struct scm_timestamping));
            memcpy(CMSG_DATA(c), &ts, sizeof ts);
            c = CMSG_NXTHDR(&gr, c);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SO_RXQ_OVFL;
            c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
            memcpy(CMSG_DATA(c), &drops, sizeof drops);
            c = CMSG_NXTHDR(&gr, c);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_GRO;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            int gso_size = 1400;
            memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
            printf("udp_gro %d\n", UDP_GRO);
            printf("udp_segment %d\n", UDP_SEGMENT);
            printf("groctl_len %zu\n", (size_t)gr.msg_controllen);
            dump("groctl", (unsigned char *)gq.buf, gr.msg_controllen);
            return 0;
        }
        """;

    public sealed class Probe
    {
        private readonly IReadOnlyDictionary<string, string> _values = HeaderProbe.Run(Source);

        public long Get(string key) => long.Parse(_values[key], CultureInfo.InvariantCulture);

        public byte[] Bytes(string name, int count)
        {
            byte[] bytes = new byte[count];
            for (int i = 0; i < count; i++)
            {
                bytes[i] = byte.Parse(_values[$"{name}.{i}"], CultureInfo.InvariantCulture);
            }

            return bytes;
        }
    }
}
