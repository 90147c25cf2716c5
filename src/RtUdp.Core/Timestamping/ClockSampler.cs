using System.Runtime.CompilerServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// Measures another clock against CLOCK_MONOTONIC by bracketing: read monotonic, the other clock,
/// monotonic again; keep the narrowest of N brackets (the one least disturbed by interrupts or
/// preemption). Works for any clockid, including a PHC's dynamic one (<see cref="PhcClock.ClockId"/>).
/// Allocates nothing.
/// </summary>
public static unsafe class ClockSampler
{
    /// <param name="clockid">E.g. Libc.CLOCK_REALTIME, CLOCK_TAI or a FD_TO_CLOCKID value.</param>
    /// <param name="rounds">Brackets to take; the narrowest wins.</param>
    /// <exception cref="NativeCallException">clock_gettime rejected the clock (EINVAL).</exception>
    public static ClockOffset Sample(int clockid, int rounds = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rounds, 1);
        long bestBefore = 0;
        long bestOther = 0;
        long bestAfter = 0;
        long bestWidth = long.MaxValue;
        for (int i = 0; i < rounds; i++)
        {
            timespec ts;
            long before = Libc.MonotonicNow();
            int rc = Libc.clock_gettime(clockid, &ts);
            long after = Libc.MonotonicNow();
            Errno.Check(rc, "clock_gettime");
            long other = Libc.ToNanoseconds(ts);
            if (after - before < bestWidth)
            {
                bestWidth = after - before;
                bestBefore = before;
                bestOther = other;
                bestAfter = after;
            }
        }

        return FromBracket(bestBefore, bestOther, bestAfter);
    }

    /// <summary>
    /// The offset implied by one bracket: the other clock was read at some instant in
    /// [before, after], so offset = other − midpoint with uncertainty = half the width (rounded up).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ClockOffset FromBracket(long monoBefore, long other, long monoAfter)
    {
        long width = monoAfter - monoBefore;
        long mid = monoBefore + (width / 2);
        return new ClockOffset(other - mid, (width + 1) / 2, mid);
    }

    /// <summary>Index of the narrowest (after − before) bracket; ties go to the earliest; -1 if empty.</summary>
    public static int Narrowest(ReadOnlySpan<long> before, ReadOnlySpan<long> after)
    {
        int count = Math.Min(before.Length, after.Length);
        int best = -1;
        long bestWidth = long.MaxValue;
        for (int i = 0; i < count; i++)
        {
            long width = after[i] - before[i];
            if (width >= 0 && width < bestWidth)
            {
                bestWidth = width;
                best = i;
            }
        }

        return best;
    }
}
