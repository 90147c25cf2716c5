using RtUdp.Core.Capabilities;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;

namespace RtUdp.Core.Engine;

/// <summary>Gathers the <see cref="EgressFacts"/> a channel's modes are planned from. Conductor thread only.</summary>
public static class EgressProbe
{
    public static EgressFacts Probe(ChannelConfig config)
    {
        (string Name, int Index)? egress = EgressInterface.Find(config.Local, config.Remote);
        if (egress is null)
        {
            // No interface owns the address (yet): assume nothing beyond what every interface does.
            return new EgressFacts { Interface = "(unknown)", HardwareConfigProblem = $"no interface owns {config.Local.Address}", TaiOffsetSeconds = TaiOffset.Read() };
        }
        (string name, int index) = egress.Value;
        TimestampingInfo info = InterfaceTimestamping.Query(name);
        uint mask = info.SoTimestampingMask;
        (Libc.hwtstamp_config current, int readError) = NicTimestamping.Read(name);

        IReadOnlyList<QdiscInfo> qdiscs;
        string? qdiscError = null;
        try
        {
            qdiscs = QdiscReader.Read(index);
        }
        catch (Exception e) when (e is NativeCallException or InvalidDataException)
        {
            qdiscs = [];
            qdiscError = e.Message;
        }
        LaunchTimeQdisc? launch = QdiscReader.FindLaunchTimeQdisc(qdiscs);
        (bool? txChecksum, string? txChecksumProblem) = InterfaceChecksum.ReadTx(name);

        return new EgressFacts
        {
            Interface = name,
            InterfaceIndex = index,
            // A failed ETHTOOL_GET_TS_INFO leaves the mask empty: the kernel still stamps in software.
            SoftwareTx = info.Error is not null || (mask & Libc.SOF_TIMESTAMPING_TX_SOFTWARE) != 0,
            SoftwareRx = info.Error is not null || (mask & Libc.SOF_TIMESTAMPING_RX_SOFTWARE) != 0,
            HardwareTx = (mask & (Libc.SOF_TIMESTAMPING_TX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE)) == (Libc.SOF_TIMESTAMPING_TX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE),
            HardwareRx = (mask & (Libc.SOF_TIMESTAMPING_RX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE)) == (Libc.SOF_TIMESTAMPING_RX_HARDWARE | Libc.SOF_TIMESTAMPING_RAW_HARDWARE),
            PhcIndex = info.PhcIndex,
            HardwareConfiguredForUs = readError == 0 && NicTimestamping.StampsEverything(current),
            HardwareConfigProblem = readError == 0 ? null : $"SIOCGHWTSTAMP: {Errno.Describe(readError)}",
            LaunchQdisc = launch?.Kind switch
            {
                LaunchTimeQdiscKind.Etf => "etf",
                LaunchTimeQdiscKind.Taprio => "taprio",
                LaunchTimeQdiscKind.Fq => "fq",
                _ => null,
            },
            Qdiscs = qdiscError is not null ? $"unreadable: {qdiscError}" : string.Join(' ', qdiscs.Select(q => q.Kind)),
            TaiOffsetSeconds = TaiOffset.Read(),
            TxChecksumOffload = txChecksum,
            TxChecksumProblem = txChecksumProblem,
            XdpDevice = config.Xdp ? XdpDevice(index) : XdpDeviceFeatureBits.Unknown,
        };
    }

    /// <summary>What the device offers AF_XDP (netdev netlink family); Unknown when the kernel cannot tell.</summary>
    private static XdpDeviceFeatureBits XdpDevice(int ifindex)
    {
        try
        {
            return Xdp.XdpFeatureReader.Read(ifindex).ToBits();
        }
        catch (Exception e) when (e is ArgumentException or NativeCallException or InvalidDataException or IOException)
        {
            return XdpDeviceFeatureBits.Unknown;
        }
    }
}
