using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Core.Engine;

/// <summary>The timestamping and launch-time modes a channel will run with, and why not more.</summary>
public sealed record ChannelModePlan
{
    public TimestampMode Timestamps { get; init; }

    /// <summary>The NIC's hardware stamping must be switched on (SIOCSHWTSTAMP) for this channel.</summary>
    public bool ConfigureNic { get; init; }

    public LaunchClock Launch { get; init; }

    /// <summary>Packets due together leave as UDP GSO trains of up to <see cref="GsoMaxSegments"/>.</summary>
    public bool Gso { get; init; }

    public int GsoMaxSegments { get; init; }

    /// <summary>The socket path, or AF_XDP (planned by <see cref="Xdp.XdpModePlan"/>).</summary>
    public DataPath DataPath { get; init; }

    /// <summary>xdp: what the device offers AF_XDP.</summary>
    public XdpDeviceFeatureBits XdpDevice { get; init; }

    /// <summary>xdp: the TX metadata the frames carry.</summary>
    public XdpTxMetadataBits XdpTxMetadata { get; init; }

    /// <summary>
    /// The kernel's most segments in one UDP GSO datagram (UDP_MAX_SEGMENTS, 64 before Linux 6.9 and 128 since):
    /// the smaller, so a train is never refused for its count. A train also stays within 64 KiB.
    /// </summary>
    public const int MaxTrainSegments = 64;

    /// <summary>Fallbacks taken, in words, for the log and the API.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// Decides the modes from what the channel asks for and what the host and NIC can do. Throws
    /// <see cref="EngineCommandException"/> (FailedPrecondition, naming the field) where the channel
    /// requires what cannot be had; falls back and says so where it allows.
    /// </summary>
    public static ChannelModePlan Decide(ChannelConfig config, EgressFacts facts)
    {
        List<string> notes = [];
        (TimestampMode timestamps, bool configureNic) = DecideTimestamps(config, facts, notes);
        LaunchClock launch = DecideLaunch(config, facts, notes);
        int gsoSegments = DecideGso(config, facts, notes);
        return new ChannelModePlan
        {
            Timestamps = timestamps, ConfigureNic = configureNic, Launch = launch, Notes = notes,
            Gso = gsoSegments > 1, GsoMaxSegments = gsoSegments > 1 ? gsoSegments : 0,
        };
    }

    /// <returns>Most packets in one train; 0 or 1: no trains.</returns>
    private static int DecideGso(ChannelConfig config, EgressFacts facts, List<string> notes)
    {
        if (!config.Sends || config.Gso == GsoMode.Off)
        {
            return 0;
        }
        string? why = null;
        if (facts.TxChecksumOffload == false)
        {
            // Kernels before 6.11 refuse the train (EIO); later ones checksum every segment in software, which
            // costs much of what the train saves. Either way: one datagram per packet (docs/gso.md).
            why = $"{facts.Interface} does not checksum UDP on transmit (ethtool -k {facts.Interface}: tx-checksumming off): kernels before 6.11 refuse UDP GSO without it, later ones checksum each segment in software";
        }
        else if (config.BatchSize < 2)
        {
            why = "batch_size 1 leaves no room for a train of two";
        }
        else if (config.MaxPayload * 2 > ChannelConfig.MaxDatagramPayload)
        {
            why = $"max_payload {config.MaxPayload} leaves no room for two packets in one 64 KiB datagram";
        }
        if (why is null)
        {
            return Math.Min(config.BatchSize, MaxTrainSegments);
        }
        if (config.Gso == GsoMode.On)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"gso: {why}", "gso");
        }
        notes.Add($"gso: off (one datagram per packet): {why}");
        return 0;
    }

    /// <summary>
    /// Whether the receiving socket has UDP_GRO, from what setsockopt(SOL_UDP, UDP_GRO, 1) answered
    /// (<paramref name="setsockoptErrno"/>, 0: it took). Auto falls back to one datagram per read with a note;
    /// On refuses the channel (FailedPrecondition naming gro).
    /// </summary>
    public static bool DecideGro(GroMode mode, bool receives, int setsockoptErrno, List<string> notes)
    {
        if (!receives || mode == GroMode.Off)
        {
            return false;
        }
        if (setsockoptErrno == 0)
        {
            return true;
        }
        string why = $"the kernel refused UDP_GRO on the socket (setsockopt(SOL_UDP, UDP_GRO): {Native.Errno.Describe(setsockoptErrno)})";
        if (mode == GroMode.On)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"gro: {why}", "gro");
        }
        notes.Add($"gro: off (one datagram per read): {why}");
        return false;
    }

    private static (TimestampMode, bool) DecideTimestamps(ChannelConfig config, EgressFacts facts, List<string> notes)
    {
        if (config.Timestamps == TimestampMode.Off)
        {
            return (TimestampMode.Off, false);
        }

        if (config.Timestamps is TimestampMode.Hardware or TimestampMode.Auto)
        {
            string? why = HardwareUnavailable(config, facts);
            if (why is null)
            {
                return (TimestampMode.Hardware, !facts.HardwareConfiguredForUs);
            }
            if (config.Timestamps == TimestampMode.Hardware)
            {
                throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: hardware timestamping is not available on {facts.Interface}: {why}", "timestamps");
            }
            notes.Add($"timestamps: software, not hardware: {why}");
        }

        bool softwareOk = (!config.Sends || facts.SoftwareTx) && (!config.Receives || facts.SoftwareRx);
        if (!softwareOk)
        {
            if (config.Timestamps == TimestampMode.Software)
            {
                throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: {facts.Interface} does not support software timestamping", "timestamps");
            }
            notes.Add($"timestamps: off: {facts.Interface} supports neither hardware nor software timestamping; latencies use the workers' clock");
            return (TimestampMode.Off, false);
        }
        return (TimestampMode.Software, false);
    }

    private static string? HardwareUnavailable(ChannelConfig config, EgressFacts facts)
    {
        if ((config.Sends && !facts.HardwareTx) || (config.Receives && !facts.HardwareRx))
        {
            return facts.HardwareConfigProblem is { } problem
                ? $"the NIC reports no hardware timestamping ({problem})"
                : "the NIC reports no hardware timestamping (ethtool -T)";
        }
        if (facts.PhcIndex < 0)
        {
            return "the NIC has no PTP hardware clock to convert its stamps";
        }
        if (!facts.HardwareConfiguredForUs && !config.Flags.HasFlag(ChannelFlags.AllowNicTimestampConfig))
        {
            return "the NIC is not configured to stamp every packet (tx on, rx filter all) and the channel does not allow changing it (flag AllowNicTimestampConfig)";
        }
        return null;
    }

    private static LaunchClock DecideLaunch(ChannelConfig config, EgressFacts facts, List<string> notes)
    {
        if (config.LaunchTime == LaunchTimeMode.Off)
        {
            return LaunchClock.None;
        }
        string? why = null;
        LaunchClock clock = facts.LaunchQdisc switch
        {
            "etf" or "taprio" => LaunchClock.Tai,
            "fq" => LaunchClock.Monotonic,
            _ => LaunchClock.None,
        };
        if (clock == LaunchClock.None)
        {
            why = $"{facts.Interface} has no etf, taprio or fq qdisc (qdiscs: {(facts.Qdiscs.Length == 0 ? "none" : facts.Qdiscs)}); without one the kernel ignores SO_TXTIME";
        }
        else if (clock == LaunchClock.Tai && facts.TaiOffsetSeconds == 0 && !config.Flags.HasFlag(ChannelFlags.AllowZeroTaiOffset))
        {
            why = "the kernel's TAI offset is 0 (no ptp4l/phc2sys has set it), so CLOCK_TAI would be off by the leap seconds; set flag AllowZeroTaiOffset to schedule anyway";
            clock = LaunchClock.None;
        }
        if (why is null)
        {
            return clock;
        }
        if (config.LaunchTime == LaunchTimeMode.Required)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"launch_time: {why}", "launch_time");
        }
        notes.Add($"launch_time: user-space timing ({config.Timing}), not launch time: {why}");
        return LaunchClock.None;
    }
}
