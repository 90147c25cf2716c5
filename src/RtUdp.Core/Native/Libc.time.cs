using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RtUdp.Core.Native;

/// <summary>&lt;time.h&gt;: clocks and absolute-deadline sleeps.</summary>
public static unsafe partial class Libc
{
    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_MONOTONIC = 1;
    public const int CLOCK_MONOTONIC_RAW = 4;
    public const int CLOCK_BOOTTIME = 7;
    public const int CLOCK_TAI = 11;

    public const int TIMER_ABSTIME = 1;

    private const long NanosPerSecond = 1_000_000_000L;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_gettime(int clockid, timespec* tp);

    /// <remarks>Returns the error number directly (0 on success); errno is not used.</remarks>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_nanosleep(int clockid, int flags, timespec* request, timespec* remain);

    // Hot-path twin of clock_gettime: glibc serves CLOCK_MONOTONIC from the vDSO without entering
    // the kernel, so skipping the GC transition and errno bookkeeping is safe and saves most of the cost.
    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    [SuppressGCTransition]
    private static partial int clock_gettime_nogc(int clockid, timespec* tp);

    /// <summary>CLOCK_MONOTONIC in nanoseconds; the same time base as futex and clock_nanosleep deadlines.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long MonotonicNow()
    {
        timespec ts;
        // CLOCK_MONOTONIC with a valid pointer cannot fail, so the result is not checked.
        _ = clock_gettime_nogc(CLOCK_MONOTONIC, &ts);
        return ToNanoseconds(ts);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToNanoseconds(in timespec ts) => (long)ts.tv_sec * NanosPerSecond + (long)ts.tv_nsec;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static timespec ToTimespec(long nanoseconds)
    {
        timespec ts;
        ts.tv_sec = nanoseconds / NanosPerSecond;
        ts.tv_nsec = (long_t)(nanoseconds % NanosPerSecond);
        return ts;
    }
}
