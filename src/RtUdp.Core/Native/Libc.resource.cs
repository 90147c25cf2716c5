using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

/// <summary>&lt;sys/resource.h&gt;: resource limits (the locked-memory limit).</summary>
public static unsafe partial class Libc
{
    public const int RLIMIT_MEMLOCK = 8;

    /// <summary>The highest SCHED_FIFO/SCHED_RR priority a process without CAP_SYS_NICE may set.</summary>
    public const int RLIMIT_RTPRIO = 14;

    public struct rlimit
    {
        /// <summary>Soft limit; <see cref="ulong.MaxValue"/> is RLIM_INFINITY.</summary>
        public ulong rlim_cur;
        public ulong rlim_max;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getrlimit(int resource, rlimit* rlim);

    /// <summary>Reads (and with <paramref name="newLimit"/> sets) a limit of process <paramref name="pid"/> (0: the caller).</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int prlimit(int pid, int resource, rlimit* newLimit, rlimit* oldLimit);
}
