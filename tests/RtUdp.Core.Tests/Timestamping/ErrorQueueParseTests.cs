using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Timestamping;

public sealed unsafe class ErrorQueueParseTests
{
    private const long Software = 1_752_000_123_456_789_012;
    private const long Hardware = 1_752_000_160_000_000_321;

    [Theory]
    [InlineData(Libc.SCM_TSTAMP_SND, 0u)]
    [InlineData(Libc.SCM_TSTAMP_SCHED, 7u)]
    [InlineData(Libc.SCM_TSTAMP_ACK, 4_000_000_000u)]
    public void Tx_timestamp_with_software_and_hardware_stamps(int stampType, uint id)
    {
        // The kernel puts SCM_TIMESTAMPING first, then the RECVERR message.
        byte[] control = new ControlBuilder()
            .Timestamping(Software, Hardware)
            .IpRecvErr(Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, (uint)stampType, id)
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.TxTimestamp, m.Kind);
        Assert.Equal(Errno.ENOMSG, m.Errno);
        Assert.Equal(stampType, m.StampType);
        Assert.Equal(id, m.StampId);
        Assert.Equal(Software, m.SoftwareNs);
        Assert.Equal(Hardware, m.HardwareNs);
        Assert.Equal(StampSource.Hardware, m.BestSource);
        Assert.False(m.ControlTruncated);
    }

    [Fact]
    public void Software_only_stamp_leaves_hardware_zero_in_either_order_and_on_ipv6()
    {
        byte[] control = new ControlBuilder()
            .ExtendedErr(LibC.SOL_IPV6, LibC.IPV6_RECVERR, Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0,
                Libc.SCM_TSTAMP_SND, 3, offenderBytes: 28)
            .Timestamping(Software, 0, Libc.SO_TIMESTAMPING_NEW)
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.TxTimestamp, m.Kind);
        Assert.Equal(3u, m.StampId);
        Assert.Equal(Software, m.SoftwareNs);
        Assert.Equal(0, m.HardwareNs);
        Assert.Equal(StampSource.Software, m.BestSource);
    }

    [Fact]
    public void Txtime_invalid_reconstructs_the_requested_time()
    {
        const ulong requested = 0x0000_0123_89AB_CDEFUL;
        byte[] control = new ControlBuilder()
            .IpRecvErr(Errno.EINVAL, Libc.SO_EE_ORIGIN_TXTIME, 0, Libc.SO_EE_CODE_TXTIME_INVALID_PARAM,
                (uint)(requested & 0xffff_ffff), (uint)(requested >> 32))
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.TxTimeError, m.Kind);
        Assert.Equal(Errno.EINVAL, m.Errno);
        Assert.True(m.IsTxTimeInvalid);
        Assert.False(m.IsTxTimeMissed);
        Assert.Equal(requested, m.RequestedTxTimeNs);
        Assert.Equal(StampSource.None, m.BestSource);
    }

    [Fact]
    public void Txtime_missed_reconstructs_the_requested_time()
    {
        const ulong requested = 1_752_000_123_456_789_012UL;
        byte[] control = new ControlBuilder()
            .IpRecvErr(Errno.ECANCELED, Libc.SO_EE_ORIGIN_TXTIME, 0, Libc.SO_EE_CODE_TXTIME_MISSED,
                unchecked((uint)requested), (uint)(requested >> 32))
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.TxTimeError, m.Kind);
        Assert.Equal(Errno.ECANCELED, m.Errno);
        Assert.True(m.IsTxTimeMissed);
        Assert.Equal(requested, m.RequestedTxTimeNs);
    }

    [Fact]
    public void Icmp_port_unreachable_is_econnrefused()
    {
        byte[] control = new ControlBuilder()
            .IpRecvErr(Errno.ECONNREFUSED, LibC.SO_EE_ORIGIN_ICMP, 3, 3, 0, 0)
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.Icmp, m.Kind);
        Assert.Equal(Errno.ECONNREFUSED, m.Errno);
        Assert.Equal(3, m.Type);
        Assert.Equal(3, m.Code);
    }

    [Fact]
    public void Icmp6_and_local_errors()
    {
        byte[] icmp6 = new ControlBuilder()
            .ExtendedErr(LibC.SOL_IPV6, LibC.IPV6_RECVERR, Errno.ECONNREFUSED, LibC.SO_EE_ORIGIN_ICMP6, 1, 4, 0, 0, offenderBytes: 28)
            .ToArray();
        Assert.True(ErrorQueue.TryParse(icmp6, out ErrQueueMessage m6));
        Assert.Equal(ErrQueueKind.Icmp6, m6.Kind);
        Assert.Equal(Errno.ECONNREFUSED, m6.Errno);
        Assert.Equal(1, m6.Type);
        Assert.Equal(4, m6.Code);

        // A local EMSGSIZE carries the path MTU in ee_info.
        byte[] local = new ControlBuilder()
            .IpRecvErr(Errno.EMSGSIZE, LibC.SO_EE_ORIGIN_LOCAL, 0, 0, 1500, 0)
            .ToArray();
        Assert.True(ErrorQueue.TryParse(local, out ErrQueueMessage ml));
        Assert.Equal(ErrQueueKind.Local, ml.Kind);
        Assert.Equal(Errno.EMSGSIZE, ml.Errno);
        Assert.Equal(1500u, ml.Info);
    }

    [Fact]
    public void Unknown_origin_is_returned_raw()
    {
        byte[] control = new ControlBuilder().IpRecvErr(0, LibC.SO_EE_ORIGIN_ZEROCOPY, 0, 1, 5, 9).ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(ErrQueueKind.Unknown, m.Kind);
        Assert.Equal(LibC.SO_EE_ORIGIN_ZEROCOPY, m.Origin);
        Assert.Equal(9u, m.Data);
    }

    [Fact]
    public void Unrelated_control_messages_are_skipped()
    {
        byte[] control = new ControlBuilder()
            .Cmsg(LibC.SOL_IP, 8 /* IP_PKTINFO */, new byte[12])
            .Timestamping(Software, 0)
            .IpRecvErr(Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, Libc.SCM_TSTAMP_SND, 42)
            .ToArray();

        Assert.True(ErrorQueue.TryParse(control, out ErrQueueMessage m));

        Assert.Equal(42u, m.StampId);
        Assert.Equal(Software, m.SoftwareNs);
    }

    public static TheoryData<string, byte[]> Garbage()
    {
        byte[] good = new ControlBuilder()
            .Timestamping(Software, Hardware)
            .IpRecvErr(Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, 0, 1)
            .ToArray();
        return new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "shorter than a cmsghdr", new byte[15] },
            { "all zero (cmsg_len 0)", new byte[64] },
            { "cmsg_len below the header size", new ControlBuilder().Cmsg(LibC.SOL_IP, LibC.IP_RECVERR, new byte[32], lengthOverride: 8).ToArray() },
            { "cmsg_len beyond the buffer", new ControlBuilder().Cmsg(LibC.SOL_IP, LibC.IP_RECVERR, new byte[32], lengthOverride: 4096).ToArray() },
            { "cmsg_len huge", new ControlBuilder().Cmsg(LibC.SOL_IP, LibC.IP_RECVERR, new byte[32], lengthOverride: ulong.MaxValue).ToArray() },
            { "sock_extended_err cut short", new ControlBuilder().Cmsg(LibC.SOL_IP, LibC.IP_RECVERR, new byte[8]).ToArray() },
            { "scm_timestamping cut short", new ControlBuilder().Cmsg(LibC.SOL_SOCKET, LibC.SCM_TIMESTAMPING, new byte[24]).IpRecvErr(Errno.ENOMSG, 4, 0, 0, 0, 0).ToArray() },
            { "timestamps without an error", new ControlBuilder().Timestamping(Software, 0).ToArray() },
            { "buffer truncated mid-message", good[..(good.Length - 20)] },
        };
    }

    [Theory]
    [MemberData(nameof(Garbage))]
    public void Malformed_control_data_returns_false(string why, byte[] control)
    {
        Assert.False(ErrorQueue.TryParse(control, out ErrQueueMessage m), why);
        Assert.Equal(default, m);
    }

    [Fact]
    public void Random_bytes_never_throw_or_read_out_of_bounds()
    {
        var random = new Random(1234);
        byte[] good = new ControlBuilder()
            .Timestamping(Software, Hardware)
            .IpRecvErr(Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, 0, 1)
            .ToArray();
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = (byte[])good.Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            int length = random.Next(bytes.Length + 1);
            // An exact-size heap copy, so the runtime would fault or throw on any overrun.
            _ = ErrorQueue.TryParse(bytes.AsSpan(0, length).ToArray(), out _);
        }
    }

    [Fact]
    public void Msghdr_overload_reads_msg_control_and_reports_ctrunc()
    {
        byte[] control = new ControlBuilder()
            .Timestamping(Software, 0)
            .IpRecvErr(Errno.ENOMSG, LibC.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, Libc.SCM_TSTAMP_SND, 5)
            .ToArray();
        fixed (byte* p = control)
        {
            msghdr header = default;
            header.msg_control = p;
            header.msg_controllen = control.Length;
            header.msg_flags = LibC.MSG_CTRUNC;

            Assert.True(ErrorQueue.TryParse(&header, out ErrQueueMessage m));

            Assert.Equal(5u, m.StampId);
            Assert.True(m.ControlTruncated);

            header.msg_control = null;
            Assert.False(ErrorQueue.TryParse(&header, out _));
        }

        Assert.False(ErrorQueue.TryParse((msghdr*)null, out _));
    }

    [Fact]
    public void CmsgAlign_rounds_to_eight()
    {
        Assert.Equal(0, ErrorQueue.CmsgAlign(0));
        Assert.Equal(8, ErrorQueue.CmsgAlign(1));
        Assert.Equal(16, ErrorQueue.CmsgAlign(16));
        Assert.Equal(40, ErrorQueue.CmsgAlign(33));
    }
}
