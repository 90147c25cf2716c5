namespace RtUdp.Daemon.Engine;

/// <summary>A part of the engine whose heartbeat has not advanced for <paramref name="Age"/>.</summary>
/// <param name="Name">"conductor", or "channel 1 'rx' receive worker".</param>
/// <param name="Channel">The channel's name, "" for the conductor.</param>
/// <param name="Worker">"send", "receive", or "" for the conductor.</param>
public sealed record StalledPart(string Name, string Channel, string Worker, TimeSpan Age);

/// <summary>What of engine <paramref name="Pid"/> has stalled past the health bound, oldest first.</summary>
public sealed record EngineStall(int Pid, IReadOnlyList<StalledPart> Parts)
{
    /// <summary>The longest time without a heartbeat among the stalled parts.</summary>
    public TimeSpan Longest => Parts.Count == 0 ? TimeSpan.Zero : Parts.Max(p => p.Age);

    /// <summary>"engine 42 stalled: conductor (no heartbeat for 2.1 s), channel 1 'rx' receive worker (2.1 s)".</summary>
    public string Describe() =>
        $"engine {Pid} stalled: " + string.Join(", ", Parts.Select(p => $"{p.Name} (no heartbeat for {p.Age.TotalSeconds:0.0} s)"));
}
