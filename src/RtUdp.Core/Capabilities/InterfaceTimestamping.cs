using System.Text.Json.Serialization;
using RtUdp.Core.Native;

namespace RtUdp.Core.Capabilities;

/// <summary>What ETHTOOL_GET_TS_INFO says an interface can do (the data behind <c>ethtool -T</c>).</summary>
/// <param name="SoTimestampingMask">Raw SOF_TIMESTAMPING_* bits the interface supports.</param>
/// <param name="SoTimestamping">The same bits by ethtool's names ("software-transmit", "hardware-raw-clock", ...).</param>
/// <param name="PhcIndex">/dev/ptpN of the NIC's clock; -1 when it has none.</param>
/// <param name="TxTypesMask">Raw bits, one per HWTSTAMP_TX_* value.</param>
/// <param name="TxTypes">Hardware transmit timestamp modes by name ("off", "on", ...).</param>
/// <param name="RxFiltersMask">Raw bits, one per HWTSTAMP_FILTER_* value.</param>
/// <param name="RxFilters">Hardware receive filter modes by name ("none", "all", "ptpv2-event", ...).</param>
/// <param name="Error">Set when the query failed (then every other member is empty).</param>
public sealed record TimestampingInfo(
    uint SoTimestampingMask,
    IReadOnlyList<string> SoTimestamping,
    int PhcIndex,
    uint TxTypesMask,
    IReadOnlyList<string> TxTypes,
    uint RxFiltersMask,
    IReadOnlyList<string> RxFilters,
    string? Error = null)
{
    /// <summary>Hardware stamps in both directions, reported in the NIC clock.</summary>
    public bool HasHardwareTimestamping =>
        (SoTimestampingMask & (Libc.SOF_TIMESTAMPING_TX_HARDWARE | Libc.SOF_TIMESTAMPING_RX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE))
        == (Libc.SOF_TIMESTAMPING_TX_HARDWARE | Libc.SOF_TIMESTAMPING_RX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE);

    /// <summary>Software stamps in both directions, reported in CLOCK_REALTIME.</summary>
    public bool HasSoftwareTimestamping =>
        (SoTimestampingMask & (Libc.SOF_TIMESTAMPING_TX_SOFTWARE | Libc.SOF_TIMESTAMPING_RX_SOFTWARE | Libc.SOF_TIMESTAMPING_SOFTWARE))
        == (Libc.SOF_TIMESTAMPING_TX_SOFTWARE | Libc.SOF_TIMESTAMPING_RX_SOFTWARE | Libc.SOF_TIMESTAMPING_SOFTWARE);

    internal static TimestampingInfo Failed(string error) => new(0, [], -1, 0, [], 0, [], error);
}

public enum HardwareTimestampState
{
    /// <summary>SIOCGHWTSTAMP answered: <see cref="HardwareTimestampConfig.TxType"/> and RxFilter hold the NIC's setting.</summary>
    [JsonStringEnumMemberName("supported")] Supported,

    /// <summary>EOPNOTSUPP or EINVAL: the driver has no hardware timestamping to configure.</summary>
    [JsonStringEnumMemberName("not supported")] NotSupported,

    /// <summary>Any other failure; see <see cref="HardwareTimestampConfig.Error"/>.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>The NIC-wide hardware timestamping setting now in force (SIOCGHWTSTAMP; shared with ptp4l).</summary>
public sealed record HardwareTimestampConfig(
    HardwareTimestampState State,
    string? TxType = null,
    string? RxFilter = null,
    int Flags = 0,
    string? Error = null)
{
    /// <summary>"tx on, rx all", "not supported" or the error.</summary>
    public string Describe() => State switch
    {
        HardwareTimestampState.Supported => $"tx {TxType}, rx {RxFilter}",
        HardwareTimestampState.NotSupported => "not supported",
        _ => "error: " + Error,
    };
}

/// <summary>Per-interface timestamping queries through ioctls (<see cref="InterfaceIoctl"/>).</summary>
public static unsafe class InterfaceTimestamping
{
    /// <summary>ethtool's names for SOF_TIMESTAMPING_* bits 0.. (net/ethtool/common.c, sof_timestamping_names).</summary>
    private static readonly string[] SoTimestampingNames =
    [
        "hardware-transmit", "software-transmit", "hardware-receive", "software-receive",
        "software-system-clock", "hardware-legacy-clock", "hardware-raw-clock", "option-id",
        "sched-transmit", "ack-transmit", "option-cmsg", "option-tsonly", "option-stats",
        "option-pktinfo", "option-tx-swhw", "bind-phc", "option-id-tcp", "option-rx-filter",
    ];

    /// <summary>HWTSTAMP_TX_* values 0.. (ts_tx_type_names).</summary>
    private static readonly string[] TxTypeNames = ["off", "on", "onestep-sync", "onestep-p2p"];

    /// <summary>HWTSTAMP_FILTER_* values 0.. (ts_rx_filter_names).</summary>
    private static readonly string[] RxFilterNames =
    [
        "none", "all", "some", "ptpv1-l4-event", "ptpv1-l4-sync", "ptpv1-l4-delay-req",
        "ptpv2-l4-event", "ptpv2-l4-sync", "ptpv2-l4-delay-req", "ptpv2-l2-event", "ptpv2-l2-sync",
        "ptpv2-l2-delay-req", "ptpv2-event", "ptpv2-sync", "ptpv2-delay-req", "ntp-all",
    ];

    /// <summary>Capabilities via SIOCETHTOOL/ETHTOOL_GET_TS_INFO. Failures are reported in <see cref="TimestampingInfo.Error"/>.</summary>
    public static TimestampingInfo Query(string ifname)
    {
        Libc.ethtool_ts_info info = default;
        info.cmd = Libc.ETHTOOL_GET_TS_INFO;
        int errno = InterfaceIoctl.Ethtool(ifname, &info);
        if (errno != 0)
        {
            return TimestampingInfo.Failed($"ETHTOOL_GET_TS_INFO: {Errno.Describe(errno)}");
        }

        return new TimestampingInfo(
            info.so_timestamping, DecodeSoTimestamping(info.so_timestamping), info.phc_index,
            info.tx_types, DecodeBits(info.tx_types, TxTypeNames, "tx-type"),
            info.rx_filters, DecodeBits(info.rx_filters, RxFilterNames, "rx-filter"));
    }

    /// <summary>The current setting via SIOCGHWTSTAMP; EOPNOTSUPP/EINVAL become <see cref="HardwareTimestampState.NotSupported"/>.</summary>
    public static HardwareTimestampConfig QueryHardwareConfig(string ifname)
    {
        Libc.hwtstamp_config config = default;
        int errno = InterfaceIoctl.Call(ifname, Libc.SIOCGHWTSTAMP, &config);
        return errno switch
        {
            0 => new HardwareTimestampConfig(HardwareTimestampState.Supported,
                Name(config.tx_type, TxTypeNames, "tx-type"), Name(config.rx_filter, RxFilterNames, "rx-filter"), config.flags),
            Errno.EOPNOTSUPP or Errno.EINVAL => new HardwareTimestampConfig(HardwareTimestampState.NotSupported, Error: Errno.Name(errno)),
            _ => new HardwareTimestampConfig(HardwareTimestampState.Failed, Error: $"SIOCGHWTSTAMP: {Errno.Describe(errno)}"),
        };
    }

    /// <summary>Names of the set SOF_TIMESTAMPING_* bits, in bit order; unknown bits as "bit-N".</summary>
    public static IReadOnlyList<string> DecodeSoTimestamping(uint mask) => DecodeBits(mask, SoTimestampingNames, "bit");

    private static string[] DecodeBits(uint mask, string[] names, string unknownPrefix)
    {
        var result = new List<string>();
        for (int bit = 0; bit < 32; bit++)
        {
            if ((mask & (1u << bit)) != 0)
            {
                result.Add(Name(bit, names, unknownPrefix));
            }
        }

        return [.. result];
    }

    private static string Name(int value, string[] names, string unknownPrefix) =>
        value >= 0 && value < names.Length
            ? names[value]
            : unknownPrefix + "-" + value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
