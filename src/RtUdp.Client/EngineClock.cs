using System.Diagnostics;
using RtUdp.V1;

namespace RtUdp.Client;

/// <summary>
/// Maps this process's monotonic clock onto the daemon host's CLOCK_MONOTONIC, the clock the engine schedules
/// packets in, so a client can name absolute send times (<see cref="SendTime.AtMonotonic"/>).
/// </summary>
/// <remarks>
/// Each sample calls ClockService.GetClock between two local reads t0 and t1. The daemon read its clock at
/// some moment inside [t0, t1], so pairing its reading with the midpoint (t0 + t1) / 2 is wrong by at most
/// (t1 - t0) / 2, plus the daemon's own read_uncertainty_ns. The sample with the shortest round trip is kept.
/// <see cref="ErrorBoundNs"/> is that bound; it holds while both clocks run at the same rate: on one host they
/// are the same CLOCK_MONOTONIC (the offset is about 0), across hosts they drift apart by the frequency
/// difference of the two oscillators (typically up to 50 ppm = 50 µs per second: resynchronize for long runs).
/// </remarks>
public sealed class EngineClock
{
    private EngineClock(long offsetNs, long errorBoundNs, long roundTripNs, GetClockResponse reading)
    {
        OffsetNs = offsetNs;
        ErrorBoundNs = errorBoundNs;
        RoundTripNs = roundTripNs;
        Reading = reading;
    }

    /// <summary>Engine CLOCK_MONOTONIC minus local monotonic time, ns.</summary>
    public long OffsetNs { get; }

    /// <summary>How far <see cref="ToEngine"/> may be off (half the best round trip plus the daemon's read uncertainty), ns.</summary>
    public long ErrorBoundNs { get; }

    /// <summary>The best sample's round trip, ns.</summary>
    public long RoundTripNs { get; }

    /// <summary>The daemon's answer for the best sample (its TAI offset, synchronization state, ...).</summary>
    public GetClockResponse Reading { get; }

    /// <summary>Local monotonic time, ns (Stopwatch: CLOCK_MONOTONIC on Linux).</summary>
    public static long LocalNowNs() => ToNs(Stopwatch.GetTimestamp());

    /// <summary>The engine's CLOCK_MONOTONIC now, as estimated from the local clock.</summary>
    public long EngineNowNs() => ToEngine(LocalNowNs());

    public long ToEngine(long localNs) => localNs + OffsetNs;

    public long ToLocal(long engineNs) => engineNs - OffsetNs;

    /// <summary>Takes <paramref name="samples"/> GetClock readings and keeps the one with the shortest round trip.</summary>
    public static async Task<EngineClock> SynchronizeAsync(ClockService.ClockServiceClient clock, int samples = 8, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        EngineClock? best = null;
        for (int i = 0; i < samples; i++)
        {
            long t0 = LocalNowNs();
            GetClockResponse response = await clock.GetClockAsync(new GetClockRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
            long t1 = LocalNowNs();
            long roundTrip = t1 - t0;
            long midpoint = t0 + (roundTrip / 2);
            var sample = new EngineClock(response.MonotonicNs - midpoint, (roundTrip + 1) / 2 + response.ReadUncertaintyNs, roundTrip, response);
            if (best is null || sample.ErrorBoundNs < best.ErrorBoundNs)
            {
                best = sample;
            }
        }
        return best!;
    }

    private static long ToNs(long ticks) =>
        Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)((Int128)ticks * 1_000_000_000 / Stopwatch.Frequency);
}
