using RtUdp.Core.Contract.Channels;
using RtUdp.V1;
using DataPath = RtUdp.Core.Contract.Channels.DataPath;
using ChannelConfig = RtUdp.Core.Contract.Channels.ChannelConfig;
using ChannelModeBlock = RtUdp.Core.Contract.Channels.ChannelModeBlock;
using XdpAttachMode = RtUdp.Core.Contract.Channels.XdpAttachMode;
using XdpZeroCopy = RtUdp.Core.Contract.Channels.XdpZeroCopy;

namespace RtUdp.Daemon.Api;

/// <summary>An xdp channel's settings and mode in effect, to rtudp.v1 (null on the socket path).</summary>
internal static class XdpMapping
{
    public static XdpOptions? ToProto(ChannelConfig config) => config.Xdp
        ? new XdpOptions
        {
            Queue = config.XdpQueue,
            ZeroCopy = (V1.XdpZeroCopy)((int)config.XdpZeroCopy + 1),
            AttachMode = (V1.XdpAttachMode)((int)config.XdpAttach + 1),
        }
        : null;

    public static XdpMode? ToProto(in ChannelModeBlock mode) => (DataPath)mode.DataPath == DataPath.Xdp
        ? new XdpMode
        {
            Queue = mode.XdpQueue,
            ZeroCopy = mode.XdpZeroCopy != 0,
            // None (no program) is UNSPECIFIED; Native and Generic are the proto's values less one, like every enum.
            AttachMode = (XdpAttachMode)mode.XdpAttach == XdpAttachMode.None ? V1.XdpAttachMode.Unspecified : (V1.XdpAttachMode)(mode.XdpAttach + 1),
            DeviceFeatures = XdpModeText.DeviceFeatures((XdpDeviceFeatureBits)mode.XdpDeviceFeatures),
            TxChecksumOffload = ((XdpTxMetadataBits)mode.XdpTxMetadata).HasFlag(XdpTxMetadataBits.Checksum),
            TxTimestamps = ((XdpTxMetadataBits)mode.XdpTxMetadata).HasFlag(XdpTxMetadataBits.Timestamp),
            LaunchTime = ((XdpTxMetadataBits)mode.XdpTxMetadata).HasFlag(XdpTxMetadataBits.LaunchTime),
            NextHopMac = mode.NextHopMacText,
        }
        : null;
}
