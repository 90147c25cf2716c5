using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Testing;

/// <summary>
/// Steps the host's CLOCK_REALTIME (clock_settime: needs CAP_SYS_TIME, i.e. root) by a set amount relative
/// to where it stood against CLOCK_MONOTONIC when this was created, and puts it back on dispose. Every
/// target is computed from CLOCK_MONOTONIC (which no step moves), so however long the steps lasted the
/// restored clock is off by the microseconds a clock_settime takes, not by the time spent stepped.
/// Every call's result is checked; a step that did not land within <see cref="ToleranceNs"/> is retried.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed unsafe partial class WallClock : IDisposable
{
    /// <summary>How close to its target a step must land (the clock_settime call and the check read in between).</summary>
    public const long ToleranceNs = 50_000;

    private const int Attempts = 10;

    /// <summary>A landing this close is not corrected.</summary>
    private const long FineNs = 2_000;
    private bool _disposed;

    private WallClock(ClockOffset original)
    {
        Original = original;
    }

    /// <summary>CLOCK_REALTIME − CLOCK_MONOTONIC before any step.</summary>
    public ClockOffset Original { get; }

    /// <summary>Where the wall clock now stands against where it stood, ns (+: ahead).</summary>
    public long DeviationNs => ClockSampler.Sample(Libc.CLOCK_REALTIME, 8).OffsetNs - Original.OffsetNs;

    /// <summary>
    /// Takes control of the wall clock: sets it to where it stands (a step of microseconds at most) to learn
    /// whether this process may set it at all.
    /// </summary>
    /// <returns>Null, with <paramref name="whyNot"/>, when clock_settime fails with EPERM (no CAP_SYS_TIME).</returns>
    public static WallClock? TryTake(out string? whyNot)
    {
        var clock = new WallClock(ClockSampler.Sample(Libc.CLOCK_REALTIME, 8));
        try
        {
            clock.StepTo(0);
        }
        catch (NativeCallException e) when (e.Errno == Errno.EPERM)
        {
            whyNot = "setting CLOCK_REALTIME needs CAP_SYS_TIME (run as root; CI does): " + e.Message;
            return null;
        }
        whyNot = null;
        return clock;
    }

    /// <summary>Sets the wall clock to <paramref name="deviationNs"/> away from where it stood; returns the deviation reached.</summary>
    public long StepTo(long deviationNs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long reached = 0;
        long correction = 0;
        for (int attempt = 0; attempt < Attempts; attempt++)
        {
            timespec target = Libc.ToTimespec(Libc.MonotonicNow() + Original.OffsetNs + deviationNs + correction);
            Errno.Check(clock_settime(Libc.CLOCK_REALTIME, &target), "clock_settime(CLOCK_REALTIME)");
            reached = DeviationNs;
            long miss = reached - deviationNs;
            // The call lands a few microseconds behind its target (the time it takes): aim that much ahead once more.
            if (Math.Abs(miss) <= FineNs || (attempt > 0 && Math.Abs(miss) <= ToleranceNs))
            {
                return reached;
            }
            correction -= miss;
        }
        throw new InvalidOperationException($"CLOCK_REALTIME did not land within {ToleranceNs} ns of {deviationNs} ns after {Attempts} clock_settime calls (reached {reached} ns): is something else setting it?");
    }

    /// <summary>Puts the wall clock back where it would stand had it never been stepped (unless it already is: no needless step).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        if (Math.Abs(DeviationNs) > ToleranceNs)
        {
            StepTo(0);
        }
        _disposed = true;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_settime(int clockid, timespec* tp);
}
