using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Engine;

/// <summary>Real-time set-up of the calling thread: pinning, SCHED_FIFO, timer slack.</summary>
public static unsafe class RealtimeThread
{
    /// <summary>
    /// Applies what is asked to the calling thread. A step the kernel refuses is reported in the
    /// result (Degraded + the errno) rather than thrown: the worker runs anyway, never silently.
    /// </summary>
    /// <param name="cpu">CPU to pin to, or -1.</param>
    /// <param name="priority">SCHED_FIFO priority 1-99, or 0 for SCHED_OTHER.</param>
    /// <param name="memoryLocked">Whether the process holds mlockall (reported, not changed here).</param>
    /// <param name="unpinned">For an unpinned worker (<paramref name="cpu"/> -1): the engine's CPU plan for it.</param>
    public static (RealtimeMode Mode, int Errno, string? Problem) Apply(int cpu, int priority, bool memoryLocked, Cpus.UnpinnedPlacement? unpinned = null)
    {
        RealtimeMode mode = memoryLocked ? RealtimeMode.MemoryLocked : RealtimeMode.None;
        int firstErrno = 0;
        string? problem = null;

        void Fail(string what, int error)
        {
            mode |= RealtimeMode.Degraded;
            if (firstErrno == 0)
            {
                firstErrno = error;
                problem = $"{what}: {Errno.Describe(error)}";
            }
        }

        // A SCHED_OTHER thread's sleeps are rounded up by the 50 µs default slack; FIFO threads have none.
        if (Libc.prctl(Libc.PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0)
        {
            mode |= RealtimeMode.TightTimerSlack;
        }

        if (cpu >= 0)
        {
            // No check against Environment.ProcessorCount: it counts the CPUs of the affinity mask the
            // process inherited (1 when launched from a thread pinned to one CPU), not the CPUs that
            // exist. The kernel says EINVAL itself for a CPU that is absent or outside the cpuset.
            cpu_set_t set = default;
            if (cpu >= sizeof(cpu_set_t) * 8)
            {
                Fail($"sched_setaffinity(cpu {cpu})", Errno.EINVAL);
            }
            else
            {
                CPU_SET(cpu, &set);
                if (sched_setaffinity(0, (size_t)sizeof(cpu_set_t), &set) == 0)
                {
                    mode |= RealtimeMode.Pinned;
                }
                else
                {
                    Fail($"sched_setaffinity(cpu {cpu})", errno);
                }
            }
        }
        else if (unpinned is not null)
        {
            (RealtimeMode placed, int error, string? what) = Place(0, -1, unpinned);
            mode |= placed;
            if (error != 0)
            {
                Fail(what!, error);
            }
        }

        if (priority > 0 && cpu < 0 && unpinned is { RealtimeAllowed: false })
        {
            // Not a refusal of the kernel's: the plan keeps this worker below the pinned ones that own every CPU.
            mode |= RealtimeMode.NoCpuLeft | RealtimeMode.Degraded;
            problem ??= $"SCHED_FIFO priority {priority} asked, SCHED_OTHER in effect: every CPU the engine may use is owned by a pinned worker, and an unpinned SCHED_FIFO worker would delay them";
        }
        else if (priority > 0)
        {
            int error = SetFifo(0, priority);
            if (error == 0)
            {
                mode |= RealtimeMode.Fifo;
            }
            else
            {
                Fail($"sched_setscheduler(SCHED_FIFO, {priority})", error);
            }
        }

        if (!memoryLocked)
        {
            mode |= RealtimeMode.Degraded;
        }
        return (mode, firstErrno, problem);
    }

    /// <summary>
    /// Moves an unpinned worker thread (<paramref name="tid"/>; 0: the calling thread) to the plan's CPUs, and
    /// when <paramref name="priority"/> is above 0, to SCHED_FIFO at it or SCHED_OTHER as the plan allows.
    /// Returns the <see cref="RealtimeMode.Confined"/>, <see cref="RealtimeMode.Fifo"/> and
    /// <see cref="RealtimeMode.NoCpuLeft"/> bits in effect, and the first errno with what failed.
    /// </summary>
    public static (RealtimeMode Mode, int Errno, string? Failed) Place(int tid, int priority, Cpus.UnpinnedPlacement placement)
    {
        ArgumentNullException.ThrowIfNull(placement);
        RealtimeMode mode = RealtimeMode.None;
        int firstErrno = 0;
        string? failed = null;
        if (placement.Cpus.Count > 0)
        {
            // The plan's CPUs are the engine's own (sched_getaffinity), so they always fit the mask.
            _ = Cpus.ProcessAffinity.TryMask(placement.Cpus, out cpu_set_t set);
            if (sched_setaffinity(tid, (size_t)sizeof(cpu_set_t), &set) == 0)
            {
                mode |= RealtimeMode.Confined;
            }
            else
            {
                firstErrno = errno;
                failed = $"sched_setaffinity(thread {tid}, cpus {Capabilities.HostCpus.Format(placement.Cpus)})";
            }
        }
        if (priority > 0)
        {
            int error = placement.RealtimeAllowed ? SetFifo(tid, priority) : SetOther(tid);
            if (error == 0)
            {
                mode |= placement.RealtimeAllowed ? RealtimeMode.Fifo : RealtimeMode.NoCpuLeft;
            }
            else if (firstErrno == 0)
            {
                firstErrno = error;
                failed = placement.RealtimeAllowed ? $"sched_setscheduler(thread {tid}, SCHED_FIFO, {priority})" : $"sched_setscheduler(thread {tid}, SCHED_OTHER)";
            }
        }
        return (mode, firstErrno, failed);
    }

    private static int SetFifo(int tid, int priority)
    {
        Libc.sched_param param = new() { sched_priority = priority };
        // pid 0 means the calling thread, not the process.
        return Libc.sched_setscheduler(tid, SCHED_FIFO, &param) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
    }

    private static int SetOther(int tid)
    {
        Libc.sched_param param = new() { sched_priority = 0 };
        return Libc.sched_setscheduler(tid, SCHED_OTHER, &param) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
    }

    /// <summary>Returns the calling thread to SCHED_OTHER (so a stopping worker cannot starve others).</summary>
    public static void Relax()
    {
        Libc.sched_param param = new() { sched_priority = 0 };
        _ = Libc.sched_setscheduler(0, SCHED_OTHER, &param);
    }
}
