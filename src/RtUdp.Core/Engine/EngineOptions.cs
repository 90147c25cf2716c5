namespace RtUdp.Core.Engine;

/// <summary>How the engine process runs.</summary>
public sealed record EngineOptions
{
    /// <summary>Directory of the control file and the channel files (tmpfs: /run/rtudp, /dev/shm/...).</summary>
    public required string Directory { get; init; }

    /// <summary>Lock the process's memory (mlockall) so no real-time thread ever waits on a page fault.</summary>
    public bool LockMemory { get; init; } = true;

    /// <summary>
    /// Testing only: plan launch time as if every egress interface had this qdisc ("etf", "taprio" or
    /// "fq"). Without the real qdisc the kernel accepts SCM_TXTIME and ignores it, so packets leave a
    /// lead early: this exercises the launch-time send path on hosts that have no such qdisc.
    /// </summary>
    public string? AssumeLaunchQdisc { get; init; }

    /// <summary>
    /// The client intake agent polls as on a kernel without futex_waitv (before 5.16), where it does so on its own:
    /// for tests of that path, or to rule futex_waitv out.
    /// </summary>
    public bool ClientIntakePolling { get; init; }

    /// <summary>
    /// CPUs for the engine's own threads (the conductor, the runtime's) and, set by rtudpd alike, for rtudpd:
    /// unpinned workers keep off them while other CPUs are left. Empty: none set, the inherited affinity.
    /// </summary>
    public IReadOnlyList<int> HousekeepingCpus { get; init; } = [];

    /// <summary>
    /// The CPUs to plan workers over, taken as the engine's affinity at start (rtudpd confined to its housekeeping
    /// CPUs passes the CPUs it had before). Empty: the affinity the engine inherited.
    /// </summary>
    public IReadOnlyList<int> Cpus { get; init; } = [];

    /// <summary>Stop (as on SIGTERM) when the parent (the daemon) dies.</summary>
    public bool ExitWithParent { get; init; } = true;

    /// <summary>
    /// The directory to use when none is configured: systemd's $RUNTIME_DIRECTORY, else a per-user
    /// directory in /dev/shm (tmpfs), else /tmp.
    /// </summary>
    public static string DefaultDirectory()
    {
        string? runtime = Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY");
        if (!string.IsNullOrEmpty(runtime))
        {
            return Path.Combine(runtime.Split(':')[0], "engine");
        }
        string user = Environment.UserName;
        return System.IO.Directory.Exists("/dev/shm") ? $"/dev/shm/rtudp-{user}" : Path.Combine(Path.GetTempPath(), $"rtudp-{user}");
    }
}
