using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;

namespace RtUdp.Core.Xdp;

/// <summary>
/// What an xdp channel will run with, from what it asks and what its device offers AF_XDP (the netdev netlink
/// family's xdp-features and xsk-features). AF_XDP bypasses the kernel's stack, so the socket path's software
/// stamps, qdiscs (SO_TXTIME), GSO and GRO do not apply: TX stamps, launch time and checksum offload come only
/// through TX metadata, where the driver offers them. Required modes that cannot be had are refused
/// (FailedPrecondition naming the field); auto falls back and says so, as on the socket path.
/// </summary>
public static class XdpModePlan
{
    public static ChannelModePlan Decide(ChannelConfig config, EgressFacts facts, XdpDeviceFeatureBits device)
    {
        List<string> notes = [];
        bool known = !device.HasFlag(XdpDeviceFeatureBits.Unknown);
        string offered = XdpModeText.DeviceFeatures(device) is { Length: > 0 } list ? list : "none";
        string features = $"{facts.Interface} offers AF_XDP: {offered}";
        XdpTxMetadataBits metadata = XdpTxMetadataBits.None;

        (TimestampMode timestamps, bool configureNic) = DecideTimestamps(config, facts, device, features, notes, ref metadata);
        LaunchClock launch = DecideLaunch(config, facts, device, features, notes, ref metadata);
        if (config.Sends && device.HasFlag(XdpDeviceFeatureBits.TxChecksum))
        {
            metadata |= XdpTxMetadataBits.Checksum;
        }
        if (!device.HasFlag(XdpDeviceFeatureBits.ZeroCopy))
        {
            string why = known ? $"{features} (no zero-copy)" : $"the kernel does not tell whether {facts.Interface} offers zero-copy";
            if (config.XdpZeroCopy == XdpZeroCopy.On && known)
            {
                throw new EngineCommandException(EngineStatus.FailedPrecondition, $"xdp.zero_copy: {why}", "xdp.zero_copy");
            }
            if (config.XdpZeroCopy == XdpZeroCopy.Auto && known)
            {
                notes.Add($"xdp: copy mode: {why}");
            }
        }
        return new ChannelModePlan
        {
            Timestamps = timestamps, ConfigureNic = configureNic, Launch = launch, Notes = notes,
            DataPath = DataPath.Xdp, XdpDevice = device, XdpTxMetadata = metadata,
        };
    }

    private static (TimestampMode, bool) DecideTimestamps(ChannelConfig config, EgressFacts facts, XdpDeviceFeatureBits device, string features, List<string> notes, ref XdpTxMetadataBits metadata)
    {
        if (config.Timestamps == TimestampMode.Off)
        {
            return (TimestampMode.Off, false);
        }
        if (config.Timestamps == TimestampMode.Software)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition,
                "timestamps: software stamps are the kernel socket path's; an xdp channel has hardware TX stamps through AF_XDP TX metadata where the device offers them (timestamps: auto or hardware), or none (off)", "timestamps");
        }
        string? why = null;
        if (!config.Sends)
        {
            why = "AF_XDP gives no RX stamps to a receiving xdp channel (received packets carry the receive worker's time)";
        }
        else if (!device.HasFlag(XdpDeviceFeatureBits.TxTimestamp))
        {
            why = $"{features} (no tx-timestamp)";
        }
        else if (facts.PhcIndex < 0)
        {
            why = $"{facts.Interface} has no PTP hardware clock to convert its stamps";
        }
        else if (!facts.HardwareConfiguredForUs && !config.Flags.HasFlag(ChannelFlags.AllowNicTimestampConfig))
        {
            why = "the NIC is not configured to stamp every packet (tx on) and the channel does not allow changing it (flag AllowNicTimestampConfig)";
        }
        if (why is null)
        {
            metadata |= XdpTxMetadataBits.Timestamp;
            return (TimestampMode.Hardware, !facts.HardwareConfiguredForUs);
        }
        if (config.Timestamps == TimestampMode.Hardware)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: hardware TX stamps through AF_XDP TX metadata are not available: {why}", "timestamps");
        }
        notes.Add($"timestamps: off (latencies use the workers' clock): AF_XDP has no kernel software stamps, and no hardware TX stamps here: {why}");
        return (TimestampMode.Off, false);
    }

    private static LaunchClock DecideLaunch(ChannelConfig config, EgressFacts facts, XdpDeviceFeatureBits device, string features, List<string> notes, ref XdpTxMetadataBits metadata)
    {
        if (config.LaunchTime == LaunchTimeMode.Off)
        {
            return LaunchClock.None;
        }
        string? why = !device.HasFlag(XdpDeviceFeatureBits.TxLaunchTimeFifo)
            ? $"{features} (no tx-launch-time-fifo)"
            : facts.PhcIndex < 0 ? $"{facts.Interface} has no PTP hardware clock to give launch times in" : null;
        if (why is null)
        {
            metadata |= XdpTxMetadataBits.LaunchTime;
            return LaunchClock.Phc;
        }
        if (config.LaunchTime == LaunchTimeMode.Required)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"launch_time: per-packet launch time through AF_XDP TX metadata is not available: {why}", "launch_time");
        }
        notes.Add($"launch_time: user-space timing ({config.Timing}), not launch time: {why}");
        return LaunchClock.None;
    }
}
