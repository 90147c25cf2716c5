namespace RtUdp.Core.Native;

/// <summary>&lt;linux/ethtool.h&gt;: querying a NIC's timestamping capabilities through SIOCETHTOOL.</summary>
public static unsafe partial class Libc
{
    public const uint ETHTOOL_GET_TS_INFO = 0x41;

    public struct ethtool_ts_info
    {
        public uint cmd;
        public uint so_timestamping;
        public int phc_index;
        public uint tx_types;
        public fixed uint tx_reserved[3];
        public uint rx_filters;
        public fixed uint rx_reserved[3];
    }
}
