using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;sched.h&gt;: real-time scheduling policy.</summary>
public static unsafe partial class Libc
{
    public struct sched_param
    {
        public int sched_priority;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_setscheduler(int pid, int policy, sched_param* param);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_getscheduler(int pid);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_get_priority_max(int policy);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_get_priority_min(int policy);

    /// <summary>The CPU affinity mask of thread <paramref name="pid"/> (0: the caller) into <paramref name="mask"/> of <paramref name="cpusetsize"/> bytes; EINVAL when the mask is smaller than the kernel's.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int sched_getaffinity(int pid, nuint cpusetsize, byte* mask);
}
