using System.Globalization;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using RtUdp.Core.Privileges;

namespace RtUdp.Core.Capabilities;

/// <summary>
/// The SCHED_FIFO priorities a process may give its threads: any with CAP_SYS_NICE (effective), else up
/// to its RLIMIT_RTPRIO soft limit (sched(7)).
/// </summary>
/// <param name="RtprioLimit">RLIMIT_RTPRIO's soft limit; null: unlimited.</param>
/// <param name="SysNice">CAP_SYS_NICE is in the process's effective set.</param>
public sealed record RealtimeLimits(ulong? RtprioLimit, bool SysNice)
{
    public const int MaxPriority = 99;

    /// <summary>The highest SCHED_FIFO priority permitted (0: none).</summary>
    public int MaxFifoPriority => SysNice ? MaxPriority : (int)Math.Min(RtprioLimit ?? MaxPriority, MaxPriority);

    /// <summary>Whether <paramref name="priority"/> (0: SCHED_OTHER, always permitted) can be set.</summary>
    public bool Permits(int priority) => priority <= MaxFifoPriority;

    /// <summary>"RLIMIT_RTPRIO 0 and no CAP_SYS_NICE" or "CAP_SYS_NICE".</summary>
    public string Describe() => SysNice
        ? "CAP_SYS_NICE"
        : $"RLIMIT_RTPRIO {(RtprioLimit is { } limit ? limit.ToString(CultureInfo.InvariantCulture) : "unlimited")} and no CAP_SYS_NICE";

    /// <summary>The limits of process <paramref name="pid"/>.</summary>
    /// <exception cref="NativeCallException">prlimit failed (ESRCH: gone; EPERM: another user's process).</exception>
    public static unsafe RealtimeLimits Of(int pid)
    {
        Libc.rlimit limit;
        if (Libc.prlimit(pid, Libc.RLIMIT_RTPRIO, null, &limit) != 0)
        {
            throw new NativeCallException($"prlimit({pid}, RLIMIT_RTPRIO)", Marshal.GetLastPInvokeError());
        }
        CapabilitySets caps;
        try
        {
            caps = CapabilitySets.OfThread(pid, pid);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new NativeCallException($"reading /proc/{pid}/task/{pid}/status", Errno.ESRCH);
        }
        return new RealtimeLimits(
            limit.rlim_cur == ulong.MaxValue ? null : limit.rlim_cur,
            (caps.Effective & (1UL << Libc.CAP_SYS_NICE)) != 0);
    }
}
