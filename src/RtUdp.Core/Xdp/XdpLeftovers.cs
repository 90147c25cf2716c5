using System.Globalization;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The interfaces an engine attached steering programs to, in a file of the engine's directory, so that the next
/// engine of the same rtudpd (started after a SIGKILL, a crash or a daemon restart) detaches what a dead one left.
/// Only programs no live process holds are removed (<see cref="XdpSteeringProgram.DetachLeftovers"/>): another
/// engine's, or another daemon's, stay. A leftover never black-holes traffic anyway (its socket's XSKMAP slot is empty
/// and the program passes), but it costs every packet of the interface a program run.
/// </summary>
public static class XdpLeftovers
{
    public const string FileName = "xdp-interfaces";

    /// <summary>Notes that a program is attached to <paramref name="ifindex"/> (before the channel is announced).</summary>
    public static void Record(string directory, int ifindex)
    {
        string path = Path.Combine(directory, FileName);
        string line = ifindex.ToString(CultureInfo.InvariantCulture);
        if (File.Exists(path) && File.ReadAllLines(path).Contains(line))
        {
            return;
        }
        File.AppendAllLines(path, [line]);
    }

    /// <summary>Detaches the dead engines' programs from every interface recorded; returns what it did, for the log.</summary>
    public static IReadOnlyList<string> Clean(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return [];
        }
        List<string> log = [];
        List<string> keep = [];
        foreach (string line in File.ReadAllLines(path).Distinct())
        {
            if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int ifindex))
            {
                continue;
            }
            try
            {
                int removed = XdpSteeringProgram.DetachLeftovers(ifindex);
                if (removed > 0)
                {
                    log.Add($"xdp: detached {removed} steering program(s) a previous engine left on ifindex {ifindex}");
                }
            }
            catch (XdpException e) when (e.Errno == Native.Errno.ENODEV)
            {
                // The interface is gone, and its programs with it.
            }
            catch (Exception e) when (e is XdpException or ArgumentException or IOException)
            {
                log.Add($"xdp: could not check ifindex {ifindex} for programs a previous engine left: {e.Message}");
                keep.Add(line);
            }
        }
        if (keep.Count == 0)
        {
            File.Delete(path);
        }
        else
        {
            File.WriteAllLines(path, keep);
        }
        return log;
    }
}
