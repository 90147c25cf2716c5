using System.Globalization;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine.Cpus;

/// <summary>Confines a whole process (every thread it has now, and so the threads they start) to CPUs.</summary>
public static unsafe class ProcessAffinity
{
    /// <summary>The affinity mask of <paramref name="cpus"/>; false if one is beyond what a cpu_set_t holds (1024).</summary>
    public static bool TryMask(IReadOnlyList<int> cpus, out cpu_set_t set)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        set = default;
        foreach (int cpu in cpus)
        {
            if (cpu < 0 || cpu >= sizeof(cpu_set_t) * 8)
            {
                return false;
            }
            fixed (cpu_set_t* mask = &set)
            {
                CPU_SET(cpu, mask);
            }
        }
        return true;
    }

    /// <summary>
    /// sched_setaffinity on every thread of this process. sched_setaffinity(pid) moves only the main thread,
    /// and the runtime has started its own threads (GC, finalizer, timers, thread pool) by now.
    /// </summary>
    /// <exception cref="NativeCallException">The kernel refused (EINVAL: none of the CPUs is in the cpuset).</exception>
    public static void ConfineAllThreads(IReadOnlyList<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        if (!TryMask(cpus, out cpu_set_t set))
        {
            throw new NativeCallException($"sched_setaffinity(cpus {Capabilities.HostCpus.Format(cpus)})", Errno.EINVAL);
        }
        // Twice: a thread started while the first pass ran may have copied the old mask.
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (string task in Directory.GetDirectories("/proc/self/task"))
            {
                if (!int.TryParse(Path.GetFileName(task), NumberStyles.None, CultureInfo.InvariantCulture, out int tid))
                {
                    continue;
                }
                if (sched_setaffinity(tid, (size_t)sizeof(cpu_set_t), &set) != 0)
                {
                    int error = errno;
                    if (error != Errno.ESRCH)
                    {
                        throw new NativeCallException($"sched_setaffinity(thread {tid}, cpus {Capabilities.HostCpus.Format(cpus)})", error);
                    }
                }
            }
        }
    }
}
