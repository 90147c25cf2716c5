namespace RtUdp.Daemon.Tests.HostChecks;

/// <summary>What the kernel says about this host's CPUs and this test's privileges, read independently of RtUdp's code.</summary>
internal static class HostCpuFacts
{
    /// <summary>/sys/devices/system/cpu/online as the kernel writes it ("0-1").</summary>
    public static string OnlineText => File.ReadAllText("/sys/devices/system/cpu/online").Trim();

    /// <summary>The CPUs online (ranges expanded).</summary>
    public static IReadOnlyList<int> Online =>
        [.. OnlineText.Split(',').SelectMany(part =>
        {
            string[] ends = part.Split('-');
            int first = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            int last = int.Parse(ends[^1], System.Globalization.CultureInfo.InvariantCulture);
            return Enumerable.Range(first, last - first + 1);
        })];

    /// <summary>A CPU number this host does not have.</summary>
    public static int Missing => Online.Max() + 97;

    /// <summary>
    /// A wrapper that starts rtudpd (and so its engine) unable to set any SCHED_FIFO priority: RLIMIT_RTPRIO 0,
    /// and for root also without CAP_SYS_NICE (setpriv drops it from the bounding set, so root's exec of
    /// rtudpd and of the engine does not get it).
    /// </summary>
    public static string[] WithoutRealtime()
    {
        string prlimit = RtUdp.Testing.Tool.Require("prlimit", "util-linux");
        return Environment.IsPrivilegedProcess
            ? [RtUdp.Testing.Tool.Require("setpriv", "util-linux"), "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", prlimit, "--rtprio=0:0"]
            : [prlimit, "--rtprio=0:0"];
    }
}
