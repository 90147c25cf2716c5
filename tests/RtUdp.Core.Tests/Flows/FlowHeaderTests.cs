using RtUdp.Core.Flows;

namespace RtUdp.Core.Tests.Flows;

/// <summary>The header's bytes are exactly those docs/flow-header.md describes (network byte order).</summary>
public sealed class FlowHeaderTests
{
    [Fact]
    public void Layout_is_big_endian_as_documented()
    {
        byte[] payload = new byte[48];
        payload.AsSpan().Fill(0xEE);
        FlowHeader.Write(payload, flowId: 0x01020304, sequence: 0x1112131415161718, FlowClockDomain.Tai, scheduledNs: 0x2122232425262728, sentNs: 0, origin: 0xA1B2C3D4);
        FlowHeader.WriteSent(payload, 0x3132333435363738);
        Assert.Equal(
            Convert.FromHexString("5246" + "01" + "02" + "01020304" + "1112131415161718" + "2122232425262728" + "3132333435363738" + "A1B2C3D4" + "00000000" + "EEEEEEEEEEEEEEEE"),
            payload);

        Assert.True(FlowHeader.TryRead(payload, out FlowHeader header));
        Assert.Equal(0x01020304u, header.FlowId);
        Assert.Equal(0x1112131415161718UL, header.Sequence);
        Assert.Equal(FlowClockDomain.Tai, header.Clock);
        Assert.Equal(0x2122232425262728, header.ScheduledNs);
        Assert.Equal(0x3132333435363738, header.SentNs);
        Assert.Equal(0xA1B2C3D4u, header.Origin);
    }

    [Fact]
    public void Short_payload_or_other_magic_or_version_is_not_a_header()
    {
        byte[] payload = new byte[FlowHeader.Length];
        FlowHeader.Write(payload, 1, 2, FlowClockDomain.Monotonic, 3, 4, 5);
        Assert.True(FlowHeader.TryRead(payload, out _));
        Assert.False(FlowHeader.TryRead(payload.AsSpan(0, FlowHeader.Length - 1), out _));
        payload[2] = 2;
        Assert.False(FlowHeader.TryRead(payload, out _));
        payload[2] = FlowHeader.Version;
        payload[0] = 0x00;
        Assert.False(FlowHeader.TryRead(payload, out _));
    }

    [Fact]
    public void Host_origin_is_the_boot_id_prefix()
    {
        string bootId = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        Assert.Equal(Convert.ToUInt32(bootId[..8], 16), HostOrigin.Current);
    }
}
