using System.Globalization;
using RtUdp.Core.Net;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Steering programs that engines left attached when they were killed or crashed (libxdp's attachment outlives the
/// process), detached by the next engine before it takes commands: after an engine restart, a daemon restart, or a
/// reboot of neither. Every interface of the engine's network namespace with an XDP program is looked at; only
/// programs named <see cref="XdpSteeringProgram.ProgramName"/> that no live process holds are removed
/// (<see cref="XdpSteeringProgram.DetachLeftovers"/>), so another engine's or another daemon's stay. A leftover never
/// black-holes traffic anyway (its socket's XSKMAP slot empties when the socket closes and the program passes), but it
/// costs every packet of the interface a program run.
/// </summary>
public static class XdpLeftovers
{
    /// <summary>Detaches the dead engines' programs; returns what it did, for the log. Interfaces without an XDP program cost one RTM_GETLINK each.</summary>
    public static IReadOnlyList<string> Clean()
    {
        List<string> log = [];
        foreach (int ifindex in Interfaces())
        {
            try
            {
                if (LinkReader.Get(ifindex).XdpProgramId == 0)
                {
                    continue;
                }
                int removed = XdpSteeringProgram.DetachLeftovers(ifindex);
                if (removed > 0)
                {
                    log.Add($"xdp: detached {removed} steering program(s) a dead engine left on ifindex {ifindex}");
                }
            }
            catch (Exception e) when (e is XdpException or Native.NativeCallException or InvalidDataException or IOException or DllNotFoundException)
            {
                log.Add($"xdp: could not check ifindex {ifindex} for steering programs a dead engine left: {e.Message}");
            }
        }
        return log;
    }

    /// <summary>The network namespace's interfaces (sysfs is the namespace's own, also under ip netns exec).</summary>
    private static IEnumerable<int> Interfaces()
    {
        if (!Directory.Exists("/sys/class/net"))
        {
            yield break;
        }
        foreach (string link in Directory.EnumerateDirectories("/sys/class/net"))
        {
            string path = Path.Combine(link, "ifindex");
            if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int ifindex))
            {
                yield return ifindex;
            }
        }
    }
}
