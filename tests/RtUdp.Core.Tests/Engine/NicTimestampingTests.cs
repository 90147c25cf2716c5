using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Engine;

/// <summary>
/// The hardware path on a host without hardware timestamping (this one: lo and virtio/veth report
/// software only): detection and refusal, with the driver's errno explained.
/// </summary>
public sealed class NicTimestampingTests
{
    [Fact]
    public void Loopback_has_no_hardware_timestamping_setting()
    {
        (_, int error) = NicTimestamping.Read("lo");
        Assert.True(error is Errno.EOPNOTSUPP or Errno.EINVAL, $"SIOCGHWTSTAMP on lo: {Errno.Describe(error)}");
    }

    [Fact]
    public void Acquiring_hardware_stamps_on_loopback_is_refused_with_the_reason()
    {
        var log = new List<string>();
        using var nics = new NicTimestamping(log.Add);
        var refusal = Assert.Throws<EngineCommandException>(() => nics.Acquire("lo"));
        Assert.Equal(EngineStatus.FailedPrecondition, refusal.Status);
        Assert.Equal("timestamps", refusal.Field);
        Assert.Matches("EOPNOTSUPP|EINVAL|EPERM", refusal.Message);
        Assert.Empty(log); // nothing was changed, so nothing to restore
    }

    [Fact]
    public void An_interface_that_does_not_exist_is_named_in_the_refusal()
    {
        using var nics = new NicTimestamping(_ => { });
        (_, int error) = NicTimestamping.Read("rtudp-nope0");
        Assert.Equal(Errno.ENODEV, error);
        var refusal = Assert.Throws<EngineCommandException>(() => nics.Acquire("rtudp-nope0"));
        Assert.Contains("rtudp-nope0", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Errno.ERANGE, "filter unsupported")]
    [InlineData(Errno.EOPNOTSUPP, "no hardware timestamping")]
    [InlineData(Errno.EINVAL, "no hardware timestamping")]
    [InlineData(Errno.EPERM, "CAP_NET_ADMIN")]
    public void Driver_errors_are_explained(int errno, string expected) =>
        Assert.Contains(expected, NicTimestamping.Explain(errno), StringComparison.Ordinal);
}
