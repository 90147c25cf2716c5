namespace RtUdp.Daemon.Api;

/// <summary>Configuration of the gRPC API (bind it to a section, e.g. "Api").</summary>
public sealed class RtUdpApiOptions
{
    /// <summary>How far ahead a packet may be scheduled; later times are refused (INVALID_ARGUMENT). Past times are always allowed.</summary>
    public TimeSpan SchedulingHorizon { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the health service looks at the engine.</summary>
    public TimeSpan HealthPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The retry delay a RESOURCE_EXHAUSTED (ring full) answer suggests.</summary>
    public TimeSpan RingFullRetryDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Outcomes a WatchOutcomes subscriber may have queued before it misses some (told by a gap record).</summary>
    public int OutcomeQueue { get; set; } = 131_072;

    /// <summary>Longest pause of a SendStream waiting for ring space between two looks.</summary>
    public TimeSpan MaxStreamBackoff { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// How long a SendStream may take messages in a row before it lets other clients' calls go first. A stream
    /// whose client writes flat out always has its next message ready, and would otherwise hold a thread of the
    /// pool for as long as it writes.
    /// </summary>
    public TimeSpan StreamIntakeSlice { get; set; } = TimeSpan.FromMilliseconds(0.5);
}
