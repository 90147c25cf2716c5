using Google.Protobuf.WellKnownTypes;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Daemon.Api;

/// <summary>
/// The times the API accepts (wall clock, TAI, protobuf Timestamp and Duration) as the engine's
/// CLOCK_MONOTONIC ns. One instance serves one request: the wall clock's offset and the kernel's TAI
/// offset are read at first use and then kept, so every time in a batch converts with the same reading.
/// </summary>
internal sealed class SendTimes
{
    public const long NsPerSecond = 1_000_000_000;

    private ClockOffset? _realtime;
    private int? _taiOffsetSeconds;

    /// <summary>CLOCK_REALTIME ns to CLOCK_MONOTONIC.</summary>
    public long RealtimeToMonotonic(long realtimeNs)
    {
        _realtime ??= ClockSampler.Sample(Libc.CLOCK_REALTIME, 2);
        return _realtime.Value.ToMonotonic(realtimeNs);
    }

    /// <summary>CLOCK_TAI ns to CLOCK_MONOTONIC, through the wall clock and the kernel's TAI offset.</summary>
    public long TaiToMonotonic(long taiNs)
    {
        _realtime ??= ClockSampler.Sample(Libc.CLOCK_REALTIME, 2);
        _taiOffsetSeconds ??= TaiOffset.Read();
        return _realtime.Value.ToMonotonic(taiNs - (_taiOffsetSeconds.Value * NsPerSecond));
    }

    /// <summary>A Timestamp as ns since 1970; false when it is outside Timestamp's range or int64 ns.</summary>
    public static bool TryToNs(Timestamp timestamp, out long ns)
    {
        // Timestamp's own range (years 1-9999) and nanos 0-999999999; as int64 ns, 1678-2262.
        if (timestamp.Nanos is < 0 or >= (int)NsPerSecond || timestamp.Seconds is < -9_223_372_035L or > 9_223_372_035L)
        {
            ns = 0;
            return false;
        }
        ns = (timestamp.Seconds * NsPerSecond) + timestamp.Nanos;
        return true;
    }

    /// <summary>A Duration as ns: 0 when unset, saturated to long.MinValue/MaxValue beyond int64 ns.</summary>
    public static long ToNs(Duration? duration) =>
        duration is null ? 0
        : duration.Seconds > 9_000_000_000 ? long.MaxValue
        : duration.Seconds < -9_000_000_000 ? long.MinValue
        : (duration.Seconds * NsPerSecond) + duration.Nanos;
}
