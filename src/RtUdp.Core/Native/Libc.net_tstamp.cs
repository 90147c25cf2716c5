namespace RtUdp.Core.Native;

/// <summary>&lt;linux/net_tstamp.h&gt;: SO_TIMESTAMPING flags, SO_TXTIME and SIOC[GS]HWTSTAMP payloads.</summary>
public static partial class Libc
{
    public const int SOF_TIMESTAMPING_TX_HARDWARE = 1 << 0;
    public const int SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1;
    public const int SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2;
    public const int SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3;
    public const int SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
    public const int SOF_TIMESTAMPING_SYS_HARDWARE = 1 << 5;
    public const int SOF_TIMESTAMPING_RAW_HARDWARE = 1 << 6;
    public const int SOF_TIMESTAMPING_OPT_ID = 1 << 7;
    public const int SOF_TIMESTAMPING_TX_SCHED = 1 << 8;
    public const int SOF_TIMESTAMPING_TX_ACK = 1 << 9;
    public const int SOF_TIMESTAMPING_OPT_CMSG = 1 << 10;
    public const int SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11;
    public const int SOF_TIMESTAMPING_OPT_STATS = 1 << 12;
    public const int SOF_TIMESTAMPING_OPT_PKTINFO = 1 << 13;
    public const int SOF_TIMESTAMPING_OPT_TX_SWHW = 1 << 14;
    public const int SOF_TIMESTAMPING_BIND_PHC = 1 << 15;
    /// <summary>Linux 6.2+; older kernels reject it with EINVAL.</summary>
    public const int SOF_TIMESTAMPING_OPT_ID_TCP = 1 << 16;

    public const int SOF_TXTIME_DEADLINE_MODE = 1 << 0;
    public const int SOF_TXTIME_REPORT_ERRORS = 1 << 1;

    public const int HWTSTAMP_TX_OFF = 0;
    public const int HWTSTAMP_TX_ON = 1;

    public const int HWTSTAMP_FILTER_NONE = 0;
    public const int HWTSTAMP_FILTER_ALL = 1;
    public const int HWTSTAMP_FILTER_SOME = 2;
    public const int HWTSTAMP_FILTER_PTP_V2_EVENT = 12;

    /// <summary>SO_TXTIME option value.</summary>
    public struct sock_txtime
    {
        public int clockid;
        public uint flags;
    }

    /// <summary>SIOCSHWTSTAMP / SIOCGHWTSTAMP payload, pointed to by <see cref="ifreq.ifr_data"/>.</summary>
    public struct hwtstamp_config
    {
        public int flags;
        public int tx_type;
        public int rx_filter;
    }

    /// <summary>SO_TIMESTAMPING option value when binding to a PHC (SOF_TIMESTAMPING_BIND_PHC).</summary>
    public struct so_timestamping
    {
        public int flags;
        public int bind_phc;
    }
}
