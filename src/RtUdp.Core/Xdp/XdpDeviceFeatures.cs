using System.Text;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Xdp;

/// <summary>
/// What a device offers XDP and AF_XDP, from the netdev generic netlink family (NETDEV_CMD_DEV_GET). A null
/// property is unknown: the kernel predates the family (before 6.3) or the attribute (zero-copy segments 6.6,
/// xsk-features 6.8; tx-launch-time-fifo is a bit added in 6.15, reported false by older kernels that send the
/// attribute).
/// </summary>
/// <param name="Ifindex">The device.</param>
/// <param name="XdpFeatures">NETDEV_A_DEV_XDP_FEATURES: NETDEV_XDP_ACT_* bits.</param>
/// <param name="ZeroCopyMaxSegments">NETDEV_A_DEV_XDP_ZC_MAX_SEGS: fragments per zero-copy AF_XDP packet; the kernel sends it only for zero-copy devices (null otherwise).</param>
/// <param name="XskFeatures">NETDEV_A_DEV_XSK_FEATURES: NETDEV_XSK_FLAGS_* bits (AF_XDP TX metadata the driver honours).</param>
/// <param name="UnknownReason">Why nothing is known, when the family is missing; else null.</param>
public sealed record XdpDeviceFeatures(int Ifindex, ulong? XdpFeatures, int? ZeroCopyMaxSegments, ulong? XskFeatures, string? UnknownReason = null)
{
    /// <summary>XDP programs run (XDP_PASS/DROP/TX/ABORTED): every driver with native XDP.</summary>
    public bool? Basic => Has(XdpFeatures, Native.Libc.NETDEV_XDP_ACT_BASIC);

    /// <summary>XDP_REDIRECT, which AF_XDP receive needs in native mode.</summary>
    public bool? Redirect => Has(XdpFeatures, Native.Libc.NETDEV_XDP_ACT_REDIRECT);

    /// <summary>ndo_xdp_xmit: the device accepts redirected frames.</summary>
    public bool? NdoXmit => Has(XdpFeatures, Native.Libc.NETDEV_XDP_ACT_NDO_XMIT);

    /// <summary>AF_XDP zero-copy (XDP_ZEROCOPY bind).</summary>
    public bool? ZeroCopy => Has(XdpFeatures, Native.Libc.NETDEV_XDP_ACT_XSK_ZEROCOPY);

    /// <summary>TX metadata: completion timestamps (XDP_TXMD_FLAGS_TIMESTAMP).</summary>
    public bool? TxTimestamp => Has(XskFeatures, Native.Libc.NETDEV_XSK_FLAGS_TX_TIMESTAMP);

    /// <summary>TX metadata: checksum offload (XDP_TXMD_FLAGS_CHECKSUM with csum_start/csum_offset).</summary>
    public bool? TxChecksum => Has(XskFeatures, Native.Libc.NETDEV_XSK_FLAGS_TX_CHECKSUM);

    /// <summary>TX metadata: launch time in the device's FIFO (XDP_TXMD_FLAGS_LAUNCH_TIME).</summary>
    public bool? TxLaunchTimeFifo => Has(XskFeatures, Native.Libc.NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO);

    /// <summary>Whether the kernel answered at all.</summary>
    public bool IsKnown => UnknownReason is null;

    /// <summary>Features unknown because <paramref name="reason"/>.</summary>
    public static XdpDeviceFeatures Unknown(int ifindex, string reason) => new(ifindex, null, null, null, reason);

    /// <summary>
    /// One line for the capability report, e.g. "xdp: basic redirect ndo-xmit; zero-copy no; xsk tx metadata: none"
    /// or "xdp: basic redirect zero-copy (max 1 segments); xsk tx metadata: timestamp checksum launch-time-fifo".
    /// </summary>
    public string Describe()
    {
        if (UnknownReason is not null)
        {
            return "xdp features unknown: " + UnknownReason;
        }

        var line = new StringBuilder("xdp:");
        if (XdpFeatures is ulong)
        {
            Append(line, Basic, "basic");
            Append(line, Redirect, "redirect");
            Append(line, NdoXmit, "ndo-xmit");
            if (XdpFeatures == 0)
            {
                line.Append(" none (generic/skb mode only)");
            }
        }
        else
        {
            line.Append(" unknown");
        }

        line.Append(ZeroCopy == true
            ? ZeroCopyMaxSegments is int segments ? $"; zero-copy (max {segments} segments)" : "; zero-copy"
            : "; zero-copy no (copy mode)");
        line.Append("; xsk tx metadata:");
        if (XskFeatures is null)
        {
            line.Append(" unknown (kernel before 6.8)");
        }
        else if (XskFeatures == 0)
        {
            line.Append(" none");
        }
        else
        {
            Append(line, TxTimestamp, "timestamp");
            Append(line, TxChecksum, "checksum");
            Append(line, TxLaunchTimeFifo, "launch-time-fifo");
        }

        return line.ToString();
    }

    /// <summary>
    /// The bits <see cref="XdpModePlan"/> and the channel's mode block use: <see cref="XdpDeviceFeatureBits.Unknown"/>
    /// when the kernel has no netdev family or does not report xsk-features (before 6.8), else what is offered.
    /// </summary>
    public XdpDeviceFeatureBits ToBits()
    {
        XdpDeviceFeatureBits bits = XdpDeviceFeatureBits.None;
        if (!IsKnown || XdpFeatures is null || XskFeatures is null)
        {
            bits |= XdpDeviceFeatureBits.Unknown;
        }

        if (ZeroCopy == true)
        {
            bits |= XdpDeviceFeatureBits.ZeroCopy;
        }

        if (TxTimestamp == true)
        {
            bits |= XdpDeviceFeatureBits.TxTimestamp;
        }

        if (TxChecksum == true)
        {
            bits |= XdpDeviceFeatureBits.TxChecksum;
        }

        if (TxLaunchTimeFifo == true)
        {
            bits |= XdpDeviceFeatureBits.TxLaunchTimeFifo;
        }

        return bits;
    }

    public override string ToString() => Describe();

    private static bool? Has(ulong? bits, ulong flag) => bits is ulong b ? (b & flag) != 0 : null;

    private static void Append(StringBuilder line, bool? flag, string name)
    {
        if (flag == true)
        {
            line.Append(' ').Append(name);
        }
    }
}
