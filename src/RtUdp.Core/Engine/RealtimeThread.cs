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
    public static (RealtimeMode Mode, int Errno, string? Problem) Apply(int cpu, int priority, bool memoryLocked)
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

        if (priority > 0)
        {
            Libc.sched_param param = new() { sched_priority = priority };
            // pid 0 means the calling thread, not the process.
            if (Libc.sched_setscheduler(0, SCHED_FIFO, &param) == 0)
            {
                mode |= RealtimeMode.Fifo;
            }
            else
            {
                Fail($"sched_setscheduler(SCHED_FIFO, {priority})", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
            }
        }

        if (!memoryLocked)
        {
            mode |= RealtimeMode.Degraded;
        }
        return (mode, firstErrno, problem);
    }

    /// <summary>Returns the calling thread to SCHED_OTHER (so a stopping worker cannot starve others).</summary>
    public static void Relax()
    {
        Libc.sched_param param = new() { sched_priority = 0 };
        _ = Libc.sched_setscheduler(0, SCHED_OTHER, &param);
    }
}
