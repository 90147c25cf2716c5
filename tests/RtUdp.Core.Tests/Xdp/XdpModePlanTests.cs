using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Xdp;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Detection and fallback for an xdp channel's TX metadata, launch time and zero-copy, from what the device offers
/// AF_XDP: veth offers none of it (tested end to end in the namespace tests), so every combination a NIC family
/// may report is decided here, for the refusal in required mode and the note in auto.
/// </summary>
public sealed class XdpModePlanTests
{
    private const XdpDeviceFeatureBits Igc = XdpDeviceFeatureBits.ZeroCopy | XdpDeviceFeatureBits.TxTimestamp | XdpDeviceFeatureBits.TxChecksum | XdpDeviceFeatureBits.TxLaunchTimeFifo;

    private static ChannelConfig Config(ChannelDirection direction = ChannelDirection.Send, TimestampMode timestamps = TimestampMode.Auto,
        LaunchTimeMode launch = LaunchTimeMode.Off, XdpZeroCopy zeroCopy = XdpZeroCopy.Auto) => new()
    {
        Id = 1,
        Name = "xdp",
        Direction = direction,
        Local = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 5000),
        Remote = new IPEndPoint(IPAddress.Parse("10.0.0.2"), 5000),
        Timestamps = timestamps,
        LaunchTime = launch,
        DataPath = DataPath.Xdp,
        XdpZeroCopy = zeroCopy,
        MaxPayload = 1400,
        Flags = ChannelFlags.AllowNicTimestampConfig,
    };

    private static readonly EgressFacts Veth = new() { Interface = "veth0", Qdiscs = "noqueue" };

    private static readonly EgressFacts PtpNic = new() { Interface = "enp1s0", PhcIndex = 0, HardwareTx = true, HardwareRx = true };

    [Fact]
    public void A_device_offering_everything_gets_hardware_stamps_launch_time_and_checksum_offload_through_tx_metadata()
    {
        ChannelModePlan plan = XdpModePlan.Decide(Config(launch: LaunchTimeMode.Required), PtpNic, Igc);
        Assert.Equal(DataPath.Xdp, plan.DataPath);
        Assert.Equal(TimestampMode.Hardware, plan.Timestamps);
        Assert.True(plan.ConfigureNic);
        Assert.Equal(LaunchClock.Phc, plan.Launch);
        Assert.Equal(XdpTxMetadataBits.Timestamp | XdpTxMetadataBits.LaunchTime | XdpTxMetadataBits.Checksum, plan.XdpTxMetadata);
        Assert.Empty(plan.Notes);
    }

    [Fact]
    public void Auto_on_veth_falls_back_to_copy_mode_worker_times_and_user_space_timing_and_says_why()
    {
        ChannelModePlan plan = XdpModePlan.Decide(Config(launch: LaunchTimeMode.Auto), Veth, XdpDeviceFeatureBits.None);
        Assert.Equal(TimestampMode.Off, plan.Timestamps);
        Assert.Equal(LaunchClock.None, plan.Launch);
        Assert.Equal(XdpTxMetadataBits.None, plan.XdpTxMetadata);
        Assert.Contains(plan.Notes, n => n.StartsWith("timestamps: off", StringComparison.Ordinal) && n.Contains("no tx-timestamp", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.StartsWith("launch_time: user-space timing", StringComparison.Ordinal) && n.Contains("no tx-launch-time-fifo", StringComparison.Ordinal));
        Assert.Contains(plan.Notes, n => n.StartsWith("xdp: copy mode", StringComparison.Ordinal) && n.Contains("veth0", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(TimestampMode.Hardware, LaunchTimeMode.Off, XdpZeroCopy.Auto, "timestamps", "no tx-timestamp")]
    [InlineData(TimestampMode.Off, LaunchTimeMode.Required, XdpZeroCopy.Auto, "launch_time", "no tx-launch-time-fifo")]
    [InlineData(TimestampMode.Off, LaunchTimeMode.Off, XdpZeroCopy.On, "xdp.zero_copy", "no zero-copy")]
    [InlineData(TimestampMode.Software, LaunchTimeMode.Off, XdpZeroCopy.Auto, "timestamps", "socket path")]
    public void What_is_required_and_not_offered_is_refused_naming_the_field(TimestampMode timestamps, LaunchTimeMode launch, XdpZeroCopy zeroCopy, string field, string why)
    {
        var error = Assert.Throws<EngineCommandException>(() => XdpModePlan.Decide(Config(timestamps: timestamps, launch: launch, zeroCopy: zeroCopy), Veth, XdpDeviceFeatureBits.None));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal(field, error.Field);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tx_metadata_the_device_offers_is_not_used_without_a_ptp_clock_to_convert_it()
    {
        ChannelModePlan plan = XdpModePlan.Decide(Config(launch: LaunchTimeMode.Auto), Veth with { Interface = "eth0" }, Igc);
        Assert.Equal(TimestampMode.Off, plan.Timestamps);
        Assert.Equal(LaunchClock.None, plan.Launch);
        Assert.Equal(XdpTxMetadataBits.Checksum, plan.XdpTxMetadata);
        Assert.All(plan.Notes, n => Assert.Contains("no PTP hardware clock", n, StringComparison.Ordinal));
    }

    [Fact]
    public void A_receive_only_channel_has_no_stamps_to_take_and_no_tx_metadata()
    {
        ChannelModePlan plan = XdpModePlan.Decide(Config(direction: ChannelDirection.Receive), PtpNic, Igc);
        Assert.Equal(TimestampMode.Off, plan.Timestamps);
        Assert.Equal(XdpTxMetadataBits.None, plan.XdpTxMetadata);
        Assert.Contains(plan.Notes, n => n.Contains("no RX stamps", StringComparison.Ordinal));
    }

    [Fact]
    public void A_kernel_that_cannot_tell_the_features_gets_copy_mode_tried_without_a_note_and_zero_copy_on_left_to_the_bind()
    {
        ChannelModePlan plan = XdpModePlan.Decide(Config(timestamps: TimestampMode.Off, zeroCopy: XdpZeroCopy.On), Veth, XdpDeviceFeatureBits.Unknown);
        Assert.Empty(plan.Notes);
        Assert.Equal(XdpDeviceFeatureBits.Unknown, plan.XdpDevice);
    }

    [Theory]
    [InlineData(9000, GsoMode.Auto, GroMode.Auto, ChannelFlags.None, "max_payload")]
    [InlineData(1400, GsoMode.On, GroMode.Auto, ChannelFlags.None, "gso")]
    [InlineData(1400, GsoMode.Auto, GroMode.On, ChannelFlags.None, "gro")]
    [InlineData(1400, GsoMode.Auto, GroMode.Auto, ChannelFlags.Reflect, "flags")]
    public void Socket_path_settings_on_an_xdp_channel_are_refused_naming_the_field(int maxPayload, GsoMode gso, GroMode gro, ChannelFlags flags, string field)
    {
        ChannelConfig config = Config(direction: ChannelDirection.Duplex) with { MaxPayload = maxPayload, Gso = gso, Gro = gro, Flags = flags };
        Assert.Equal(field, config.Validate()?.Field);
    }

    [Fact]
    public void An_xdp_channel_needs_a_remote_and_a_queue_in_range()
    {
        Assert.Equal("remote", (Config() with { Remote = null, Direction = ChannelDirection.Receive }).Validate()?.Field);
        Assert.Equal("xdp.queue", (Config() with { XdpQueue = -1 }).Validate()?.Field);
        Assert.Null(Config().Validate());
    }
}
