using System.Runtime.CompilerServices;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// Converts a kernel software stamp (CLOCK_REALTIME) to CLOCK_MONOTONIC so that a step of the wall clock
/// (settimeofday, an NTP step) cannot move it. A worker reads the wall clock's offset after it collected
/// the stamp; when the clock was stepped between the stamp and that read, the offset is off by the step
/// and so would be the converted stamp. The worker knows the monotonic window the stamp was taken in
/// (e.g. after its socket was last seen empty and before the read) and an offset it read before the
/// window: the current offset is used when it puts the stamp in the window, else the earlier one when
/// that does. Steps larger than the window (seconds, against a window of microseconds to milliseconds)
/// are told apart this way; a smaller step, or one with no earlier offset, is converted with the current
/// offset as before, so it can move the stamp by at most the window. Allocates nothing.
/// </summary>
public static class RealtimeStampConversion
{
    /// <summary>How far outside its window a stamp may still be taken as converted right (read jitter, preemption of the worker between its clock reads).</summary>
    public const long SlackNs = 1_000_000;

    /// <param name="stampNs">The kernel's CLOCK_REALTIME stamp.</param>
    /// <param name="current">CLOCK_REALTIME − CLOCK_MONOTONIC read after the stamp was collected.</param>
    /// <param name="earlier">The same offset read before the window (invalid: none known).</param>
    /// <param name="notBeforeNs">CLOCK_MONOTONIC before which the stamp cannot have been taken.</param>
    /// <param name="notAfterNs">CLOCK_MONOTONIC after which it cannot have been taken.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToMonotonic(long stampNs, in ClockOffset current, in ClockOffset earlier, long notBeforeNs, long notAfterNs)
    {
        long converted = current.ToMonotonic(stampNs);
        if (!earlier.IsValid || Within(converted, notBeforeNs, notAfterNs))
        {
            return converted;
        }
        long before = earlier.ToMonotonic(stampNs);
        return Within(before, notBeforeNs, notAfterNs) ? before : converted;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Within(long ns, long notBeforeNs, long notAfterNs) => ns >= notBeforeNs - SlackNs && ns <= notAfterNs + SlackNs;
}
