using System.Globalization;
using RtUdp.Core.Native;

namespace RtUdp.Core.Capabilities;

/// <summary>Builds a <see cref="CapabilityReport"/> for this host. Read-only apart from the SCHED_FIFO/mlock probes, which undo themselves.</summary>
public static class CapabilityProbe
{
    private const string SysClassNet = "/sys/class/net";

    /// <summary>Probes the host and every interface under /sys/class/net (this network namespace). Never throws for a missing feature.</summary>
    public static CapabilityReport Run()
    {
        HostFacts host = HostProbe.Read();
        IReadOnlyList<QdiscInfo> allQdiscs = [];
        string? qdiscError = null;
        try
        {
            allQdiscs = QdiscReader.ReadAll();
        }
        catch (Exception e) when (e is NativeCallException or InvalidDataException)
        {
            qdiscError = e.Message;
        }

        var interfaces = new List<InterfaceCapabilities>();
        foreach (string name in InterfaceNames())
        {
            interfaces.Add(ProbeInterface(name, allQdiscs, qdiscError));
        }

        return new CapabilityReport(DateTimeOffset.UtcNow, host, [.. interfaces.OrderBy(i => i.Ifindex)]);
    }

    /// <summary>Probes one interface by name.</summary>
    public static InterfaceCapabilities ProbeInterface(string name)
    {
        IReadOnlyList<QdiscInfo> qdiscs = [];
        string? error = null;
        try
        {
            qdiscs = QdiscReader.ReadAll();
        }
        catch (Exception e) when (e is NativeCallException or InvalidDataException)
        {
            error = e.Message;
        }

        return ProbeInterface(name, qdiscs, error);
    }

    private static InterfaceCapabilities ProbeInterface(string name, IReadOnlyList<QdiscInfo> allQdiscs, string? qdiscError)
    {
        string dir = Path.Combine(SysClassNet, name);
        int ifindex = int.TryParse(HostProbe.ReadText(Path.Combine(dir, "ifindex")), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : 0;
        string? flagsText = HostProbe.ReadText(Path.Combine(dir, "flags"));
        int flags = flagsText is not null && int.TryParse(flagsText.AsSpan(flagsText.StartsWith("0x", StringComparison.Ordinal) ? 2 : 0),
            NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int f) ? f : 0;
        QdiscInfo[] qdiscs = [.. allQdiscs.Where(q => q.Ifindex == ifindex)];
        return new InterfaceCapabilities(
            name,
            ifindex,
            Up: (flags & Libc.IFF_UP) != 0,
            // sysfs "flags" holds dev->flags, which never carries IFF_RUNNING (the kernel derives it for
            // SIOCGIFFLAGS/netlink from carrier); "carrier" reads 1 exactly when the device is running.
            Running: HostProbe.ReadText(Path.Combine(dir, "carrier")) == "1",
            OperState: HostProbe.ReadText(Path.Combine(dir, "operstate")),
            Timestamping: InterfaceTimestamping.Query(name),
            HwtstampConfig: InterfaceTimestamping.QueryHardwareConfig(name),
            Qdiscs: qdiscs,
            LaunchTime: QdiscReader.FindLaunchTimeQdisc(qdiscs),
            QdiscError: qdiscError,
            Xdp: ProbeXdp(ifindex));
    }

    /// <summary>What the device offers AF_XDP; unknown with the reason when the netdev family cannot say.</summary>
    private static XdpInterfaceCapabilities ProbeXdp(int ifindex)
    {
        RtUdp.Core.Xdp.XdpDeviceFeatures features;
        try
        {
            features = RtUdp.Core.Xdp.XdpFeatureReader.Read(ifindex);
        }
        catch (Exception e) when (e is NativeCallException or InvalidDataException or ArgumentException or TimeoutException)
        {
            features = RtUdp.Core.Xdp.XdpDeviceFeatures.Unknown(ifindex, e.Message);
        }
        return XdpInterfaceCapabilities.From(features);
    }

    private static IEnumerable<string> InterfaceNames()
    {
        try
        {
            return [.. Directory.EnumerateFileSystemEntries(SysClassNet).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [.. System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().Select(n => n.Name)];
        }
    }
}
