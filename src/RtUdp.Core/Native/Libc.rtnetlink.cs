namespace RtUdp.Core.Native;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

/// <summary>
/// &lt;linux/rtnetlink.h&gt; and the headers it speaks through for traffic control:
/// &lt;linux/netlink.h&gt; (socket address, message header, flags), &lt;linux/pkt_sched.h&gt;
/// (qdisc handles, the etf and taprio options that matter for launch time) and AF_NETLINK from
/// &lt;sys/socket.h&gt;. Enough to dump qdiscs with RTM_GETQDISC, look up a route with RTM_GETROUTE,
/// a neighbour with RTM_GETNEIGH (ndmsg: &lt;linux/neighbour.h&gt;) and a link with RTM_GETLINK
/// (IFLA_*: &lt;linux/if_link.h&gt;).
/// </summary>
public static partial class Libc
{
    public const int AF_NETLINK = 16;
    public const int NETLINK_ROUTE = 0;
    public const int NETLINK_GENERIC = 16;

    /// <summary>Socket level of the netlink options (&lt;sys/socket.h&gt;).</summary>
    public const int SOL_NETLINK = 270;

    /// <summary>Option: errors carry only the offending header, not the whole request.</summary>
    public const int NETLINK_CAP_ACK = 10;

    /// <summary>Option: errors may carry NLMSGERR_ATTR_MSG, the kernel's text for the error.</summary>
    public const int NETLINK_EXT_ACK = 11;

    public const ushort NLMSGERR_ATTR_MSG = 1;

    public const int NLMSG_ALIGNTO = 4;

    public const ushort NLM_F_REQUEST = 0x01;
    public const ushort NLM_F_MULTI = 0x02;
    public const ushort NLM_F_ACK = 0x04;
    public const ushort NLM_F_ROOT = 0x100;
    public const ushort NLM_F_MATCH = 0x200;
    public const ushort NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    public const ushort NLM_F_DUMP_INTR = 0x10;
    public const ushort NLM_F_REPLACE = 0x100;
    public const ushort NLM_F_CREATE = 0x400;

    /// <summary>First message type free for families (&lt; it: NOOP, ERROR, DONE, OVERRUN).</summary>
    public const ushort NLMSG_MIN_TYPE = 0x10;

    public const ushort NLMSG_NOOP = 0x1;
    public const ushort NLMSG_ERROR = 0x2;
    public const ushort NLMSG_DONE = 0x3;
    public const ushort NLMSG_OVERRUN = 0x4;

    public const ushort RTM_NEWLINK = 16;
    public const ushort RTM_GETLINK = 18;
    public const ushort RTM_NEWROUTE = 24;
    public const ushort RTM_GETROUTE = 26;
    public const ushort RTM_NEWNEIGH = 28;
    public const ushort RTM_GETNEIGH = 30;

    public const ushort RTM_NEWQDISC = 36;
    public const ushort RTM_DELQDISC = 37;
    public const ushort RTM_GETQDISC = 38;

    public const int RTA_ALIGNTO = 4;

    /// <summary>rtm_type: a gateway or direct route.</summary>
    public const byte RTN_UNICAST = 1;

    /// <summary>rtm_type: an address of this host.</summary>
    public const byte RTN_LOCAL = 2;
    public const byte RTN_BROADCAST = 3;
    public const byte RTN_ANYCAST = 4;
    public const byte RTN_MULTICAST = 5;
    public const byte RTN_BLACKHOLE = 6;
    public const byte RTN_UNREACHABLE = 7;
    public const byte RTN_PROHIBIT = 8;

    /// <summary>rtm_flags of an RTM_GETROUTE request: answer with the FIB's route, not a cloned cache entry.</summary>
    public const uint RTM_F_LOOKUP_TABLE = 0x1000;

    /// <summary>Route attributes (RTA_*).</summary>
    public const ushort RTA_DST = 1;
    public const ushort RTA_SRC = 2;
    public const ushort RTA_IIF = 3;
    public const ushort RTA_OIF = 4;
    public const ushort RTA_GATEWAY = 5;
    public const ushort RTA_PREFSRC = 7;
    public const ushort RTA_TABLE = 15;
    public const ushort RTA_VIA = 18;

    public const ushort TCA_UNSPEC = 0;
    public const ushort TCA_KIND = 1;
    public const ushort TCA_OPTIONS = 2;

    public const uint TC_H_MAJ_MASK = 0xFFFF0000;
    public const uint TC_H_MIN_MASK = 0x0000FFFF;
    public const uint TC_H_UNSPEC = 0;
    public const uint TC_H_ROOT = 0xFFFFFFFF;
    public const uint TC_H_INGRESS = 0xFFFFFFF1;
    public const uint TC_H_CLSACT = TC_H_INGRESS;

    /// <summary>Attribute inside etf's TCA_OPTIONS, carrying <see cref="tc_etf_qopt"/>.</summary>
    public const ushort TCA_ETF_PARMS = 1;
    public const uint TC_ETF_DEADLINE_MODE_ON = 1 << 0;
    public const uint TC_ETF_OFFLOAD_ON = 1 << 1;
    public const uint TC_ETF_SKIP_SOCK_CHECK = 1 << 2;

    /// <summary>Attributes inside taprio's TCA_OPTIONS.</summary>
    public const ushort TCA_TAPRIO_ATTR_SCHED_CLOCKID = 5;
    public const ushort TCA_TAPRIO_ATTR_FLAGS = 10;
    public const uint TCA_TAPRIO_ATTR_FLAG_TXTIME_ASSIST = 1 << 0;
    public const uint TCA_TAPRIO_ATTR_FLAG_FULL_OFFLOAD = 1 << 1;

    public struct sockaddr_nl
    {
        public ushort nl_family;
        public ushort nl_pad;
        public uint nl_pid;
        public uint nl_groups;
    }

    public struct nlmsghdr
    {
        public uint nlmsg_len;
        public ushort nlmsg_type;
        public ushort nlmsg_flags;
        public uint nlmsg_seq;
        public uint nlmsg_pid;
    }

    /// <summary>Payload of NLMSG_ERROR: a negative errno (0 for an ACK) and the offending request's header.</summary>
    public struct nlmsgerr
    {
        public int error;
        public nlmsghdr msg;
    }

    public struct tcmsg
    {
        public byte tcm_family;
        public byte tcm__pad1;
        public ushort tcm__pad2;
        public int tcm_ifindex;
        public uint tcm_handle;
        public uint tcm_parent;
        public uint tcm_info;
    }

    /// <summary>Fixed part of RTM_*ROUTE messages.</summary>
    public struct rtmsg
    {
        public byte rtm_family;
        public byte rtm_dst_len;
        public byte rtm_src_len;
        public byte rtm_tos;
        public byte rtm_table;
        public byte rtm_protocol;
        public byte rtm_scope;
        public byte rtm_type;
        public uint rtm_flags;
    }

    /// <summary>Fixed part of RTM_*LINK messages.</summary>
    public struct ifinfomsg
    {
        public byte ifi_family;
        public byte __ifi_pad;
        public ushort ifi_type;
        public int ifi_index;
        public uint ifi_flags;
        public uint ifi_change;
    }

    public struct rtattr
    {
        public ushort rta_len;
        public ushort rta_type;
    }

    public struct tc_etf_qopt
    {
        public int delta;
        public int clockid;
        public uint flags;
    }
}
