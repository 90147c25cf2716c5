namespace RtUdp.Core.Contract.Channels;

/// <summary>Which way a channel's packets leave and arrive (docs/xdp.md).</summary>
public enum DataPath
{
    /// <summary>The kernel's UDP socket: sendmmsg or GSO trains, recvmmsg or GRO.</summary>
    Socket = 0,

    /// <summary>AF_XDP on one queue of the egress interface, with headers the engine builds.</summary>
    Xdp = 1,
}

/// <summary>Whether an xdp channel's AF_XDP socket shares the driver's buffers (XDP_ZEROCOPY) or copies.</summary>
public enum XdpZeroCopy
{
    /// <summary>Zero-copy where the driver offers it, else copy mode (and say so).</summary>
    Auto = 0,

    /// <summary>Zero-copy or refuse to start.</summary>
    On = 1,

    /// <summary>Copy mode.</summary>
    Off = 2,
}

/// <summary>How the steering XDP program is attached; in the mode block, <see cref="None"/> when no program is (a send-only channel).</summary>
public enum XdpAttachMode
{
    /// <summary>Requests: native where the driver offers XDP, else generic. In effect: no program attached.</summary>
    Auto = 0,
    None = Auto,

    /// <summary>In the driver.</summary>
    Native = 1,

    /// <summary>Generic XDP, after the kernel built an skb: any device, slower.</summary>
    Generic = 2,
}

/// <summary>What an xdp channel's device offers AF_XDP (netdev netlink family), as bits in the mode block.</summary>
[Flags]
public enum XdpDeviceFeatureBits
{
    None = 0,

    /// <summary>The kernel could not tell (no netdev family, or too old to report xsk-features).</summary>
    Unknown = 1 << 0,
    ZeroCopy = 1 << 1,
    TxTimestamp = 1 << 2,
    TxChecksum = 1 << 3,
    TxLaunchTimeFifo = 1 << 4,
}

/// <summary>TX metadata an xdp channel's frames carry, in effect.</summary>
[Flags]
public enum XdpTxMetadataBits
{
    None = 0,

    /// <summary>The device checksums UDP (XDP_TXMD_FLAGS_CHECKSUM).</summary>
    Checksum = 1 << 0,

    /// <summary>The device stamps each frame's transmission (XDP_TXMD_FLAGS_TIMESTAMP).</summary>
    Timestamp = 1 << 1,

    /// <summary>The device sends each frame at its launch time (XDP_TXMD_FLAGS_LAUNCH_TIME).</summary>
    LaunchTime = 1 << 2,
}
