using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Capabilities;

/// <summary>Outcome of actually trying something that needs a privilege or a limit.</summary>
/// <param name="Permitted">The attempt succeeded (and was undone).</param>
/// <param name="Error">Why not, e.g. "EPERM (Operation not permitted)".</param>
public sealed record PermissionCheck(bool Permitted, string? Error = null);

/// <summary>RLIMIT_MEMLOCK and whether mlock of one page really works.</summary>
/// <param name="LimitBytes">The soft limit; null means unlimited.</param>
public sealed record MemoryLockCheck(bool Permitted, ulong? LimitBytes, ulong? MaxLimitBytes, string? Error = null);

/// <summary>A kernel CPU list file (e.g. "2-3,6"): its text and the CPUs it names.</summary>
/// <param name="Raw">The file's trimmed text; null when the file does not exist (feature not built in).</param>
public sealed record CpuList(string? Raw, IReadOnlyList<int> Cpus);

/// <summary>/proc/sys/kernel/sched_rt_{runtime,period}_us. Enabled unless runtime is -1.</summary>
public sealed record RtThrottling(long? RuntimeUs, long? PeriodUs)
{
    public bool Enabled => RuntimeUs is not -1;
}

public enum PreemptionModel
{
    [JsonStringEnumMemberName("unknown")] Unknown,
    [JsonStringEnumMemberName("none")] None,
    [JsonStringEnumMemberName("voluntary")] Voluntary,
    [JsonStringEnumMemberName("full")] Full,
    [JsonStringEnumMemberName("lazy")] Lazy,
    /// <summary>PREEMPT_DYNAMIC kernel whose current mode could not be read (debugfs unavailable).</summary>
    [JsonStringEnumMemberName("dynamic")] Dynamic,
    [JsonStringEnumMemberName("rt")] Rt,
}

/// <summary>The kernel's preemption model.</summary>
/// <param name="Model">The mode in force when known, else what the build says.</param>
/// <param name="Dynamic">Built with PREEMPT_DYNAMIC (mode selectable at boot/runtime).</param>
/// <param name="Source">"debugfs" (/sys/kernel/debug/sched/preempt) or "kernel_version" (uname -v).</param>
public sealed record Preemption(PreemptionModel Model, bool Dynamic, string Source);

public sealed record ClockSource(string? Current, IReadOnlyList<string> Available);

/// <summary>The host facts of a <see cref="CapabilityReport"/>.</summary>
public sealed record HostFacts(
    string KernelRelease,
    string KernelVersion,
    int CpuCount,
    int ProcessCpuCount,
    Preemption Preemption,
    ClockSource ClockSource,
    ClockDiscipline? Clock,
    string? ClockError,
    PermissionCheck SchedFifo,
    MemoryLockCheck MemoryLock,
    RtThrottling RtThrottling,
    CpuList IsolatedCpus,
    CpuList NohzFull,
    bool FutexWaitv = false);

/// <summary>Gathers <see cref="HostFacts"/> from procfs, sysfs and a few harmless system calls.</summary>
public static unsafe class HostProbe
{
    internal const string PreemptDebugfs = "/sys/kernel/debug/sched/preempt";

    public static HostFacts Read()
    {
        string version = ReadText("/proc/sys/kernel/version") ?? "";
        ClockDiscipline? clock = null;
        string? clockError = null;
        try
        {
            clock = TaiOffset.Query();
        }
        catch (NativeCallException e)
        {
            clockError = e.Message;
        }

        return new HostFacts(
            KernelRelease: ReadText("/proc/sys/kernel/osrelease") ?? Environment.OSVersion.VersionString,
            KernelVersion: version,
            CpuCount: ReadCpuList("/sys/devices/system/cpu/online").Cpus.Count is int n and > 0 ? n : Environment.ProcessorCount,
            ProcessCpuCount: Environment.ProcessorCount,
            Preemption: ReadPreemption(ReadText(PreemptDebugfs), version),
            ClockSource: new ClockSource(
                ReadText("/sys/devices/system/clocksource/clocksource0/current_clocksource"),
                SplitWords(ReadText("/sys/devices/system/clocksource/clocksource0/available_clocksource"))),
            Clock: clock,
            ClockError: clockError,
            SchedFifo: ProbeSchedFifo(),
            MemoryLock: ProbeMemoryLock(),
            RtThrottling: new RtThrottling(
                ReadLong("/proc/sys/kernel/sched_rt_runtime_us"), ReadLong("/proc/sys/kernel/sched_rt_period_us")),
            IsolatedCpus: ReadCpuList("/sys/devices/system/cpu/isolated"),
            NohzFull: ReadCpuList("/sys/devices/system/cpu/nohz_full"),
            FutexWaitv: Libc.FutexWaitvAvailable);
    }

    /// <summary>
    /// From debugfs's "none voluntary (full) lazy" when readable (the parenthesised word is in force);
    /// otherwise from the uname -v build tags PREEMPT_RT / PREEMPT_DYNAMIC / PREEMPT_LAZY / PREEMPT.
    /// </summary>
    internal static Preemption ReadPreemption(string? debugfs, string kernelVersion)
    {
        string[] tags = SplitWords(kernelVersion);
        bool rt = tags.Contains("PREEMPT_RT");
        bool dynamic = tags.Contains("PREEMPT_DYNAMIC");
        if (!string.IsNullOrWhiteSpace(debugfs) && !rt)
        {
            string? current = SplitWords(debugfs).FirstOrDefault(w => w.StartsWith('(') && w.EndsWith(')'));
            PreemptionModel fromDebugfs = current?.Trim('(', ')') switch
            {
                "none" => PreemptionModel.None,
                "voluntary" => PreemptionModel.Voluntary,
                "full" => PreemptionModel.Full,
                "lazy" => PreemptionModel.Lazy,
                _ => PreemptionModel.Unknown,
            };
            if (fromDebugfs != PreemptionModel.Unknown)
            {
                return new Preemption(fromDebugfs, dynamic, "debugfs");
            }
        }

        PreemptionModel model =
            rt ? PreemptionModel.Rt
            : dynamic ? PreemptionModel.Dynamic
            : tags.Contains("PREEMPT_LAZY") ? PreemptionModel.Lazy
            : tags.Contains("PREEMPT") ? PreemptionModel.Full
            : PreemptionModel.None;
        return new Preemption(model, dynamic, "kernel_version");
    }

    /// <summary>
    /// Sets SCHED_FIFO priority 1 on a short-lived thread of its own (sched_setscheduler(0) applies to
    /// the calling thread only) and restores SCHED_OTHER before the thread ends.
    /// </summary>
    public static PermissionCheck ProbeSchedFifo()
    {
        PermissionCheck? result = null;
        var thread = new Thread(() =>
        {
            Libc.sched_param fifo = new() { sched_priority = 1 };
            if (Libc.sched_setscheduler(0, SCHED_FIFO, &fifo) != 0)
            {
                result = new PermissionCheck(false, "sched_setscheduler(SCHED_FIFO, 1): " + Errno.Describe(Marshal.GetLastPInvokeError()));
                return;
            }

            Libc.sched_param other = new() { sched_priority = 0 };
            result = Libc.sched_setscheduler(0, SCHED_OTHER, &other) == 0
                ? new PermissionCheck(true)
                : new PermissionCheck(true, "restoring SCHED_OTHER failed: " + Errno.Describe(Marshal.GetLastPInvokeError()));
        })
        {
            IsBackground = true,
            Name = "rtudp-caps-fifo",
        };
        thread.Start();
        thread.Join();
        return result ?? new PermissionCheck(false, "probe thread produced no result");
    }

    /// <summary>getrlimit(RLIMIT_MEMLOCK) and a real mlock/munlock of one page-aligned page.</summary>
    public static MemoryLockCheck ProbeMemoryLock()
    {
        const ulong RlimInfinity = ulong.MaxValue;
        ulong? soft = null;
        ulong? hard = null;
        Libc.rlimit limit;
        if (Libc.getrlimit(Libc.RLIMIT_MEMLOCK, &limit) == 0)
        {
            soft = limit.rlim_cur == RlimInfinity ? null : limit.rlim_cur;
            hard = limit.rlim_max == RlimInfinity ? null : limit.rlim_max;
        }

        nuint page = (nuint)Environment.SystemPageSize;
        void* memory = NativeMemory.AlignedAlloc(page, page);
        try
        {
            new Span<byte>(memory, (int)page).Clear();
            if (mlock(memory, (Tmds.Linux.size_t)page) != 0)
            {
                return new MemoryLockCheck(false, soft, hard, "mlock: " + Errno.Describe(Marshal.GetLastPInvokeError()));
            }

            _ = munlock(memory, (Tmds.Linux.size_t)page);
            return new MemoryLockCheck(true, soft, hard);
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    /// <summary>Parses a kernel CPU list ("0-3,8,10-11"); an empty text is an empty list.</summary>
    internal static IReadOnlyList<int> ParseCpuList(string text)
    {
        var cpus = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                cpus.Add(int.Parse(part, CultureInfo.InvariantCulture));
                continue;
            }

            // "first-last" or "first-last:used/group" (the latter only in boot parameters).
            string last = part[(dash + 1)..].Split(':')[0];
            for (int cpu = int.Parse(part[..dash], CultureInfo.InvariantCulture); cpu <= int.Parse(last, CultureInfo.InvariantCulture); cpu++)
            {
                cpus.Add(cpu);
            }
        }

        return cpus;
    }

    private static CpuList ReadCpuList(string path)
    {
        string? raw = ReadText(path);
        return new CpuList(raw, raw is null ? [] : ParseCpuList(raw));
    }

    internal static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long? ReadLong(string path) =>
        long.TryParse(ReadText(path), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) ? value : null;

    private static string[] SplitWords(string? text) =>
        text is null ? [] : text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
