using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;

namespace RtUdp.Core.Tests.Engine;

public sealed class ChannelModePlanTests
{
    private static ChannelConfig Config(TimestampMode timestamps, LaunchTimeMode launch = LaunchTimeMode.Off, ChannelFlags flags = ChannelFlags.None) => new()
    {
        Id = 1,
        Name = "plan",
        Direction = ChannelDirection.Duplex,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = new IPEndPoint(IPAddress.Loopback, 9),
        Timestamps = timestamps,
        LaunchTime = launch,
        Flags = flags,
    };

    private static readonly EgressFacts Loopback = new()
    {
        Interface = "lo",
        HardwareConfigProblem = "SIOCGHWTSTAMP: EOPNOTSUPP",
        Qdiscs = "noqueue",
    };

    private static readonly EgressFacts PtpNic = new()
    {
        Interface = "eth9",
        HardwareTx = true,
        HardwareRx = true,
        PhcIndex = 0,
        HardwareConfiguredForUs = false,
        LaunchQdisc = "etf",
        Qdiscs = "mqprio etf",
        TaiOffsetSeconds = 37,
    };

    [Fact]
    public void Auto_on_a_nic_without_hardware_stamps_falls_back_to_software_and_says_why()
    {
        ChannelModePlan plan = ChannelModePlan.Decide(Config(TimestampMode.Auto), Loopback);
        Assert.Equal(TimestampMode.Software, plan.Timestamps);
        Assert.False(plan.ConfigureNic);
        string note = Assert.Single(plan.Notes);
        Assert.Contains("EOPNOTSUPP", note, StringComparison.Ordinal);
    }

    [Fact]
    public void Hardware_on_a_nic_without_hardware_stamps_is_refused_naming_the_field()
    {
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Hardware), Loopback));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal("timestamps", error.Field);
        Assert.Contains("lo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hardware_nic_not_configured_is_used_only_when_the_channel_allows_configuring_it()
    {
        ChannelModePlan cautious = ChannelModePlan.Decide(Config(TimestampMode.Auto), PtpNic);
        Assert.Equal(TimestampMode.Software, cautious.Timestamps);
        Assert.Contains("AllowNicTimestampConfig", Assert.Single(cautious.Notes), StringComparison.Ordinal);

        ChannelModePlan allowed = ChannelModePlan.Decide(Config(TimestampMode.Hardware, flags: ChannelFlags.AllowNicTimestampConfig), PtpNic);
        Assert.Equal(TimestampMode.Hardware, allowed.Timestamps);
        Assert.True(allowed.ConfigureNic);

        ChannelModePlan alreadyConfigured = ChannelModePlan.Decide(Config(TimestampMode.Hardware), PtpNic with { HardwareConfiguredForUs = true });
        Assert.Equal(TimestampMode.Hardware, alreadyConfigured.Timestamps);
        Assert.False(alreadyConfigured.ConfigureNic);
        Assert.Empty(alreadyConfigured.Notes);
    }

    [Fact]
    public void Hardware_without_a_phc_cannot_be_converted_and_is_refused()
    {
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Hardware), PtpNic with { PhcIndex = -1, HardwareConfiguredForUs = true }));
        Assert.Contains("PTP hardware clock", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Off_and_software_need_nothing_from_the_nic()
    {
        Assert.Equal(TimestampMode.Off, ChannelModePlan.Decide(Config(TimestampMode.Off), Loopback).Timestamps);
        Assert.Equal(TimestampMode.Software, ChannelModePlan.Decide(Config(TimestampMode.Software), Loopback).Timestamps);
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Software), Loopback with { SoftwareRx = false }));
        Assert.Equal("timestamps", error.Field);
    }

    [Fact]
    public void Launch_time_without_a_qdisc_is_refused_when_required_and_falls_back_in_auto()
    {
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Auto, LaunchTimeMode.Required), Loopback));
        Assert.Equal("launch_time", error.Field);
        Assert.Contains("noqueue", error.Message, StringComparison.Ordinal);
        Assert.Contains("ignores SO_TXTIME", error.Message, StringComparison.Ordinal);

        ChannelModePlan auto = ChannelModePlan.Decide(Config(TimestampMode.Auto, LaunchTimeMode.Auto), Loopback);
        Assert.Equal(LaunchClock.None, auto.Launch);
        Assert.Contains(auto.Notes, n => n.StartsWith("launch_time: user-space timing", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("etf", LaunchClock.Tai)]
    [InlineData("taprio", LaunchClock.Tai)]
    [InlineData("fq", LaunchClock.Monotonic)]
    public void Launch_time_uses_the_qdisc_clock(string qdisc, LaunchClock expected)
    {
        ChannelModePlan plan = ChannelModePlan.Decide(Config(TimestampMode.Off, LaunchTimeMode.Required), PtpNic with { LaunchQdisc = qdisc });
        Assert.Equal(expected, plan.Launch);
    }

    [Fact]
    public void Tai_scheduling_with_a_zero_tai_offset_needs_the_channel_to_accept_it()
    {
        EgressFacts noOffset = PtpNic with { TaiOffsetSeconds = 0 };
        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Off, LaunchTimeMode.Required), noOffset));
        Assert.Contains("TAI offset is 0", error.Message, StringComparison.Ordinal);
        Assert.Equal(LaunchClock.Tai, ChannelModePlan.Decide(Config(TimestampMode.Off, LaunchTimeMode.Required, ChannelFlags.AllowZeroTaiOffset), noOffset).Launch);
        // fq schedules in CLOCK_MONOTONIC: the TAI offset does not matter.
        Assert.Equal(LaunchClock.Monotonic, ChannelModePlan.Decide(Config(TimestampMode.Off, LaunchTimeMode.Required), noOffset with { LaunchQdisc = "fq" }).Launch);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(null)]
    public void Gso_trains_where_the_device_checksums_or_cannot_say(bool? checksum)
    {
        ChannelModePlan plan = ChannelModePlan.Decide(Config(TimestampMode.Off) with { Gso = GsoMode.Auto, BatchSize = 32 }, Loopback with { TxChecksumOffload = checksum });
        Assert.True(plan.Gso);
        Assert.Equal(32, plan.GsoMaxSegments);
        Assert.Empty(plan.Notes);
        // The kernel's limit caps a larger batch.
        Assert.Equal(ChannelModePlan.MaxTrainSegments, ChannelModePlan.Decide(Config(TimestampMode.Off) with { BatchSize = 100 }, Loopback).GsoMaxSegments);
    }

    [Fact]
    public void Gso_auto_on_a_device_without_tx_checksum_sends_one_datagram_per_packet_and_says_why()
    {
        EgressFacts noChecksum = Loopback with { Interface = "veth9", TxChecksumOffload = false };
        ChannelModePlan plan = ChannelModePlan.Decide(Config(TimestampMode.Off) with { Gso = GsoMode.Auto }, noChecksum);
        Assert.False(plan.Gso);
        Assert.Equal(0, plan.GsoMaxSegments);
        string note = Assert.Single(plan.Notes);
        Assert.StartsWith("gso: off", note, StringComparison.Ordinal);
        Assert.Contains("veth9", note, StringComparison.Ordinal);
        Assert.Contains("tx-checksumming off", note, StringComparison.Ordinal);

        var error = Assert.Throws<EngineCommandException>(() => ChannelModePlan.Decide(Config(TimestampMode.Off) with { Gso = GsoMode.On }, noChecksum));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Equal("gso", error.Field);
        Assert.Contains("tx-checksumming off", error.Message, StringComparison.Ordinal);

        Assert.False(ChannelModePlan.Decide(Config(TimestampMode.Off) with { Gso = GsoMode.Off }, Loopback).Gso);
    }
}
