namespace RtUdp.Core.Contract.Channels;

/// <summary>An xdp channel's mode in words, as the API, rtudpctl and the metrics show it.</summary>
public static class XdpModeText
{
    /// <summary>"zero-copy,tx-timestamp,tx-checksum,tx-launch-time-fifo" as offered; "" for none, "unknown" when the kernel could not tell.</summary>
    public static string DeviceFeatures(XdpDeviceFeatureBits bits)
    {
        if (bits.HasFlag(XdpDeviceFeatureBits.Unknown))
        {
            return "unknown";
        }
        List<string> names = [];
        if (bits.HasFlag(XdpDeviceFeatureBits.ZeroCopy))
        {
            names.Add("zero-copy");
        }
        if (bits.HasFlag(XdpDeviceFeatureBits.TxTimestamp))
        {
            names.Add("tx-timestamp");
        }
        if (bits.HasFlag(XdpDeviceFeatureBits.TxChecksum))
        {
            names.Add("tx-checksum");
        }
        if (bits.HasFlag(XdpDeviceFeatureBits.TxLaunchTimeFifo))
        {
            names.Add("tx-launch-time-fifo");
        }
        return string.Join(',', names);
    }

    /// <summary>aa:bb:cc:dd:ee:ff.</summary>
    public static string Mac(ReadOnlySpan<byte> mac) => Convert.ToHexStringLower(mac[..6]) is var hex
        ? string.Join(':', Enumerable.Range(0, 6).Select(i => hex.Substring(i * 2, 2)))
        : "";
}
