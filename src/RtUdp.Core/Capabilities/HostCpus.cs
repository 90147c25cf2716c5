using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Capabilities;

/// <summary>
/// The host's CPUs as a channel may use them: those that exist (online) and those a process may run on
/// (its affinity, which sched_setaffinity, taskset and the cgroup's cpuset bound). The one place that
/// says whether a CPU is one a worker can be pinned to.
/// </summary>
/// <param name="Online">/sys/devices/system/cpu/online (the runtime's processor count when unreadable).</param>
/// <param name="Allowed">sched_getaffinity of the process asked about.</param>
public sealed record HostCpus(IReadOnlyList<int> Online, IReadOnlyList<int> Allowed)
{
    public const string OnlinePath = "/sys/devices/system/cpu/online";

    /// <summary>The largest affinity mask tried, in bytes (CONFIG_NR_CPUS up to 8192 CPUs needs 1024).</summary>
    private const int MaxMaskBytes = 1 << 16;

    /// <summary>The CPUs online and those process <paramref name="pid"/> may run on (its main thread's affinity).</summary>
    /// <exception cref="NativeCallException">sched_getaffinity failed (ESRCH: no such process).</exception>
    public static HostCpus Of(int pid)
    {
        string? online = HostProbe.ReadText(OnlinePath);
        IReadOnlyList<int> onlineCpus = string.IsNullOrEmpty(online)
            ? [.. Enumerable.Range(0, Environment.ProcessorCount)]
            : HostProbe.ParseCpuList(online);
        return new HostCpus(onlineCpus, Affinity(pid));
    }

    /// <summary>The CPUs in the affinity mask of thread <paramref name="pid"/> (a process's pid: its main thread).</summary>
    /// <exception cref="NativeCallException">sched_getaffinity failed.</exception>
    public static unsafe IReadOnlyList<int> Affinity(int pid)
    {
        for (int bytes = 128; ; bytes *= 2)
        {
            byte[] mask = new byte[bytes];
            int result;
            fixed (byte* p = mask)
            {
                result = Libc.sched_getaffinity(pid, (nuint)bytes, p);
            }
            if (result != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                // EINVAL: the kernel's mask is larger than ours (a host with more CPUs than bytes * 8).
                if (errno == Errno.EINVAL && bytes < MaxMaskBytes)
                {
                    continue;
                }
                throw new NativeCallException($"sched_getaffinity({pid})", errno);
            }
            var cpus = new List<int>();
            for (int cpu = 0; cpu < bytes * 8; cpu++)
            {
                if ((mask[cpu / 8] & (1 << (cpu % 8))) != 0)
                {
                    cpus.Add(cpu);
                }
            }
            return cpus;
        }
    }

    /// <summary>A CPU list as the kernel and taskset write it ("0", "0-1,4"), for configuration.</summary>
    /// <exception cref="FormatException">Not such a list, or a CPU number beyond 8191.</exception>
    public static IReadOnlyList<int> Parse(string text)
    {
        IReadOnlyList<int> cpus;
        try
        {
            cpus = HostProbe.ParseCpuList(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new FormatException($"'{text}' is not a CPU list such as \"0\" or \"0-1,4\"", e);
        }
        if (cpus.Any(c => c is < 0 or > 8191))
        {
            throw new FormatException($"'{text}': CPU numbers are 0 to 8191");
        }
        return [.. cpus.Distinct().Order()];
    }

    public bool Exists(int cpu) => Online.Contains(cpu);

    public bool IsAllowed(int cpu) => Allowed.Contains(cpu);

    /// <summary>A kernel-style CPU list: "0-1", "0,2-5", "none".</summary>
    public static string Format(IEnumerable<int> cpus)
    {
        int[] sorted = [.. cpus.Distinct().Order()];
        if (sorted.Length == 0)
        {
            return "none";
        }
        var text = new StringBuilder();
        for (int i = 0; i < sorted.Length;)
        {
            int first = sorted[i], last = first;
            while (i + 1 < sorted.Length && sorted[i + 1] == last + 1)
            {
                last = sorted[++i];
            }
            i++;
            if (text.Length > 0)
            {
                text.Append(',');
            }
            text.Append(first.ToString(CultureInfo.InvariantCulture));
            if (last != first)
            {
                text.Append('-').Append(last.ToString(CultureInfo.InvariantCulture));
            }
        }
        return text.ToString();
    }
}
