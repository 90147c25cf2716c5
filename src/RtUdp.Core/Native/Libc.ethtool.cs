namespace RtUdp.Core.Native;

/// <summary>&lt;linux/ethtool.h&gt;: querying a NIC's timestamping capabilities and checksum offload through SIOCETHTOOL.</summary>
public static unsafe partial class Libc
{
    /// <summary>Whether the device checksums on transmit (data: 0 or 1), with <see cref="ethtool_value"/>.</summary>
    public const uint ETHTOOL_GTXCSUM = 0x16;

    /// <summary>Switches transmit checksum offload on or off (data: 0 or 1), with <see cref="ethtool_value"/>.</summary>
    public const uint ETHTOOL_STXCSUM = 0x17;

    public const uint ETHTOOL_GET_TS_INFO = 0x41;

    /// <summary>The device's queue (channel) counts, with <see cref="ethtool_channels"/>.</summary>
    public const uint ETHTOOL_GCHANNELS = 0x3c;

    /// <summary>The generic one-value ethtool command (ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM, ...).</summary>
    public struct ethtool_value
    {
        public uint cmd;
        public uint data;
    }

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

    public struct ethtool_channels
    {
        public uint cmd;
        public uint max_rx;
        public uint max_tx;
        public uint max_other;
        public uint max_combined;
        public uint rx_count;
        public uint tx_count;
        public uint other_count;
        public uint combined_count;
    }
}
