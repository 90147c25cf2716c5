using System.Globalization;

namespace RtUdp.Core.Capabilities;

/// <summary>
/// The memory a new channel's shared file may take: the host's MemAvailable (/proc/meminfo), and, when the
/// process's memory cgroup is limited, what is left under that limit (cgroup v2 memory.max - memory.current,
/// v1 memory.limit_in_bytes - memory.usage_in_bytes). The engine prefaults a channel's rings and, with
/// mlockall, keeps them in RAM: a channel larger than this would have the kernel's OOM killer or reclaim
/// stall the real-time threads, so it is refused at create.
/// </summary>
/// <param name="AvailableBytes">The least of the figures found.</param>
/// <param name="Source">Where the figure came from ("MemAvailable", "memory cgroup /x limit 512 MiB").</param>
public sealed record HostMemory(long AvailableBytes, string Source)
{
    /// <summary>The memory available to the calling process now; null when /proc/meminfo cannot be read.</summary>
    public static HostMemory? OfCurrentProcess(string procRoot = "/proc", string cgroupRoot = "/sys/fs/cgroup")
    {
        long? available = MemAvailable(Path.Combine(procRoot, "meminfo"));
        if (available is not { } host)
        {
            return null;
        }
        var best = new HostMemory(host, "MemAvailable in /proc/meminfo");
        foreach ((long left, string source) in CgroupHeadroom(Path.Combine(procRoot, "self", "cgroup"), cgroupRoot))
        {
            if (left < best.AvailableBytes)
            {
                best = new HostMemory(Math.Max(0, left), source);
            }
        }
        return best;
    }

    private static long? MemAvailable(string meminfo)
    {
        try
        {
            foreach (string line in File.ReadLines(meminfo))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
        return null;
    }

    /// <summary>Headroom under each limited memory cgroup of the process, v2 ("0::/path") and v1 ("N:memory:/path").</summary>
    private static IEnumerable<(long Left, string Source)> CgroupHeadroom(string selfCgroup, string cgroupRoot)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(selfCgroup);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }
        foreach (string line in lines)
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }
            string relative = parts[2].TrimStart('/');
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                foreach ((long, string) h in Walk(Path.Combine(cgroupRoot, relative), cgroupRoot, "memory.max", "memory.current", "v2"))
                {
                    yield return h;
                }
            }
            else if (parts[1].Split(',').Contains("memory"))
            {
                string root = Path.Combine(cgroupRoot, "memory");
                foreach ((long, string) h in Walk(Path.Combine(root, relative), root, "memory.limit_in_bytes", "memory.usage_in_bytes", "v1"))
                {
                    yield return h;
                }
            }
        }
    }

    /// <summary>The cgroup and its ancestors up to the root: a limit anywhere above applies too.</summary>
    private static IEnumerable<(long, string)> Walk(string directory, string root, string limitFile, string usageFile, string version)
    {
        string full = Path.GetFullPath(directory);
        string top = Path.GetFullPath(root);
        while (full.StartsWith(top, StringComparison.Ordinal))
        {
            if (Read(Path.Combine(full, limitFile)) is { } limit && limit < (1L << 60) && Read(Path.Combine(full, usageFile)) is { } usage)
            {
                string name = "/" + Path.GetRelativePath(top, full).Replace("\\", "/", StringComparison.Ordinal);
                yield return (limit - usage, $"memory cgroup ({version}) {name}: limit {limit >> 20} MiB, {usage >> 20} MiB in use");
            }
            if (full == top)
            {
                break;
            }
            full = Path.GetDirectoryName(full) ?? top;
        }
    }

    private static long? Read(string file)
    {
        try
        {
            string text = File.ReadAllText(file).Trim();
            return text == "max" ? long.MaxValue : long.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }
}
