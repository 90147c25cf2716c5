using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RtUdp.Core.Capabilities;

/// <summary>One network interface: link state, timestamping and the qdiscs that decide launch-time support.</summary>
/// <param name="Up">IFF_UP (administratively up).</param>
/// <param name="Running">IFF_RUNNING: up with carrier.</param>
/// <param name="HwtstampConfig">The NIC's current SIOCGHWTSTAMP setting, or "not supported".</param>
/// <param name="OperState">/sys/class/net/IFACE/operstate: "up", "down", "unknown", ...</param>
/// <param name="QdiscError">Why <paramref name="Qdiscs"/> is empty when the netlink dump failed.</param>
/// <param name="Xdp">What the device offers XDP and AF_XDP (netdev netlink family); null when not probed.</param>
public sealed record InterfaceCapabilities(
    string Name,
    int Ifindex,
    bool Up,
    bool Running,
    string? OperState,
    TimestampingInfo Timestamping,
    HardwareTimestampConfig HwtstampConfig,
    IReadOnlyList<QdiscInfo> Qdiscs,
    LaunchTimeQdisc? LaunchTime,
    string? QdiscError = null,
    XdpInterfaceCapabilities? Xdp = null)
{
    /// <summary>The NIC's PTP clock (/dev/ptpN), -1 when none; same as <see cref="TimestampingInfo.PhcIndex"/>.</summary>
    public int PhcIndex => Timestamping.PhcIndex;
}

/// <summary>
/// What one interface offers an xdp channel (docs/xdp.md), from the netdev netlink family: <paramref name="Summary"/>
/// is <see cref="RtUdp.Core.Xdp.XdpDeviceFeatures.Describe"/> ("xdp: basic redirect; zero-copy no (copy mode); xsk tx metadata:
/// none"); a null flag is unknown (kernel without the family or the attribute).
/// </summary>
/// <param name="Redirect">XDP_REDIRECT in the driver (native XDP, which AF_XDP receive uses).</param>
/// <param name="ZeroCopy">AF_XDP zero-copy (else copy mode).</param>
/// <param name="TxTimestamp">TX metadata: completion timestamps.</param>
/// <param name="TxChecksum">TX metadata: checksum offload.</param>
/// <param name="TxLaunchTimeFifo">TX metadata: launch time (kernel 6.15+).</param>
public sealed record XdpInterfaceCapabilities(string Summary, bool? Redirect, bool? ZeroCopy, bool? TxTimestamp, bool? TxChecksum, bool? TxLaunchTimeFifo)
{
    /// <summary>The report's view of <paramref name="features"/>.</summary>
    public static XdpInterfaceCapabilities From(RtUdp.Core.Xdp.XdpDeviceFeatures features) => new(
        features.Describe(), features.Redirect, features.ZeroCopy, features.TxTimestamp, features.TxChecksum, features.TxLaunchTimeFifo);
}

/// <summary>What this host and its interfaces offer a real-time UDP sender; logged at start and served as JSON.</summary>
public sealed record CapabilityReport(DateTimeOffset ProbedAt, HostFacts Host, IReadOnlyList<InterfaceCapabilities> Interfaces)
{
    /// <summary>Indented JSON with snake_case keys and enums as strings (source-generated, AOT-safe).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, CapabilityJsonContext.Default.CapabilityReport);

    /// <exception cref="JsonException">Not a capability report.</exception>
    public static CapabilityReport FromJson(string json) =>
        JsonSerializer.Deserialize(json, CapabilityJsonContext.Default.CapabilityReport)
        ?? throw new JsonException("capability report JSON is null");

    /// <summary>A short human-readable summary: two host lines plus one line per interface.</summary>
    public IReadOnlyList<string> ToLogLines()
    {
        HostFacts h = Host;
        string memlock = h.MemoryLock.LimitBytes is ulong l ? l.ToString(CultureInfo.InvariantCulture) + " B" : "unlimited";
        string throttling = h.RtThrottling.Enabled ? $"{h.RtThrottling.RuntimeUs}/{h.RtThrottling.PeriodUs} us" : "off";
        string clock = h.Clock is { } c
            ? $"TAI offset {c.TaiOffsetSeconds} s{(c.TaiOffsetSeconds == 0 ? " (not set: CLOCK_TAI reads as UTC)" : "")}, "
                + $"{c.ClockState}, {(c.Synchronized ? "synchronized" : "unsynchronized")}"
            : $"adjtimex failed: {h.ClockError}";
        var lines = new List<string>
        {
            $"host: kernel {h.KernelRelease}, preemption {Name(h.Preemption.Model)}{(h.Preemption.Dynamic && h.Preemption.Model != PreemptionModel.Dynamic ? " (dynamic)" : "")}, "
                + $"{h.CpuCount} CPUs (process {h.ProcessCpuCount}), isolated [{CpuText(h.IsolatedCpus)}], "
                + $"nohz_full [{CpuText(h.NohzFull)}], clocksource {h.ClockSource.Current ?? "?"}",
            $"host: SCHED_FIFO {Allowed(h.SchedFifo.Permitted, h.SchedFifo.Error)}, mlock {Allowed(h.MemoryLock.Permitted, h.MemoryLock.Error)} "
                + $"(RLIMIT_MEMLOCK {memlock}), RT throttling {throttling}, {clock}, futex_waitv {(h.FutexWaitv ? "yes" : "no (Linux before 5.16: same-host clients are polled)")}",
        };
        foreach (InterfaceCapabilities i in Interfaces)
        {
            var line = new StringBuilder();
            line.Append(CultureInfo.InvariantCulture, $"if {i.Name} (#{i.Ifindex}, {(i.Up ? "up" : "down")}): ");
            line.Append(i.Timestamping.Error is { } e
                ? "timestamping unknown (" + e + ")"
                : "timestamping " + (i.Timestamping.HasHardwareTimestamping ? "hardware" : i.Timestamping.HasSoftwareTimestamping ? "software" : "partial")
                  + " [" + string.Join(' ', i.Timestamping.SoTimestamping) + "]");
            line.Append(CultureInfo.InvariantCulture, $", PHC {(i.PhcIndex >= 0 ? "/dev/ptp" + i.PhcIndex.ToString(CultureInfo.InvariantCulture) : "none")}");
            line.Append(", hwtstamp ").Append(i.HwtstampConfig.Describe());
            line.Append(", qdiscs ").Append(i.QdiscError is { } q ? "unknown (" + q + ")"
                : i.Qdiscs.Count == 0 ? "none" : string.Join(' ', i.Qdiscs.Select(x => x.Kind + " " + x.HandleId)));
            line.Append(", launch time ").Append(i.LaunchTime is { } lt
                ? $"{Name(lt.Kind)} {lt.Handle} ({(lt.Clock == LaunchTimeClock.ClockTai ? "CLOCK_TAI" : "CLOCK_MONOTONIC")})"
                : "none (SO_TXTIME ignored)");
            if (i.Xdp is { } xdp)
            {
                line.Append(", ").Append(xdp.Summary);
            }
            lines.Add(line.ToString());
        }

        return lines;
    }

    private static string CpuText(CpuList list) => list.Raw switch
    {
        null => "n/a",
        "" => "none",
        string raw => raw,
    };

    private static string Allowed(bool permitted, string? error) => permitted ? "permitted" : $"denied ({error})";

    private static string Name<T>(T value) where T : struct, Enum =>
        JsonSerializer.Serialize(value, typeof(T), CapabilityJsonContext.Default).Trim('"');

}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    UseStringEnumConverter = true,
    WriteIndented = true)]
[JsonSerializable(typeof(CapabilityReport))]
[JsonSerializable(typeof(PreemptionModel))]
[JsonSerializable(typeof(LaunchTimeQdiscKind))]
[JsonSerializable(typeof(LaunchTimeClock))]
[JsonSerializable(typeof(HardwareTimestampState))]
internal sealed partial class CapabilityJsonContext : JsonSerializerContext;
