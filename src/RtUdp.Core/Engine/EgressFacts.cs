namespace RtUdp.Core.Engine;

/// <summary>What the engine learned about a channel's egress interface and the host before planning its modes.</summary>
public sealed record EgressFacts
{
    public required string Interface { get; init; }
    public int InterfaceIndex { get; init; }

    /// <summary>The interface can stamp in software (SOF_TIMESTAMPING_TX_SOFTWARE / RX_SOFTWARE).</summary>
    public bool SoftwareTx { get; init; } = true;
    public bool SoftwareRx { get; init; } = true;

    /// <summary>The NIC can stamp in hardware and report raw stamps (ETHTOOL_GET_TS_INFO).</summary>
    public bool HardwareTx { get; init; }
    public bool HardwareRx { get; init; }

    /// <summary>The NIC's PTP hardware clock, -1 if none.</summary>
    public int PhcIndex { get; init; } = -1;

    /// <summary>SIOCGHWTSTAMP: the NIC already stamps every TX packet and every RX packet (tx_type ON, rx_filter ALL).</summary>
    public bool HardwareConfiguredForUs { get; init; }

    /// <summary>Why the current hardware configuration could not be read (e.g. EOPNOTSUPP), if it could not.</summary>
    public string? HardwareConfigProblem { get; init; }

    /// <summary>Kind of the launch-time qdisc on the interface: "etf", "taprio", "fq", or null.</summary>
    public string? LaunchQdisc { get; init; }

    /// <summary>All qdisc kinds on the interface, for the report.</summary>
    public string Qdiscs { get; init; } = "";

    /// <summary>
    /// The interface checksums UDP on transmit (ETHTOOL_GTXCSUM): the kernel refuses UDP GSO (EIO) on one that
    /// does not. Null when it could not be read (then GSO is tried and a refusal falls back at run time).
    /// </summary>
    public bool? TxChecksumOffload { get; init; }

    /// <summary>Why <see cref="TxChecksumOffload"/> could not be read, if it could not.</summary>
    public string? TxChecksumProblem { get; init; }

    /// <summary>xdp channels: what the device offers AF_XDP (netdev netlink family); Unknown when not read.</summary>
    public Contract.Channels.XdpDeviceFeatureBits XdpDevice { get; init; } = Contract.Channels.XdpDeviceFeatureBits.Unknown;

    /// <summary>The kernel's TAI offset in seconds (adjtimex).</summary>
    public int TaiOffsetSeconds { get; init; }
}
