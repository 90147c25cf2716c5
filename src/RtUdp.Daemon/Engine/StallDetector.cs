using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// The one definition of "stalled", used by health, metrics, STATUS=, the engine restart and the
/// watchdog: the engine's conductor, or a worker of a running channel, has not published a heartbeat for
/// longer than the health bound. The engine's threads beat at least every 100 ms even when idle (their
/// waits are bounded by <c>AgentRunner.MaxWaitNs</c>), so an idle channel is never stalled.
/// A heartbeat's age is counted from its CLOCK_MONOTONIC time (the engine and rtudpd share the clock),
/// but never from before the part was first seen running: a channel just started, or restarted with an
/// old heartbeat in its file, gets the whole bound to beat.
/// </summary>
internal sealed class StallDetector(IChannelCatalog catalog, TimeSpan bound)
{
    private readonly Dictionary<string, long> _firstSeen = [];
    private int _pid;

    /// <summary>The engine's stalled parts, or null when none has passed the bound (or no engine runs).</summary>
    public EngineStall? Inspect(EngineProcess? engine)
    {
        if (engine is null)
        {
            _firstSeen.Clear();
            return null;
        }
        if (engine.Pid != _pid)
        {
            _firstSeen.Clear();
            _pid = engine.Pid;
        }
        long now = Libc.MonotonicNow();
        List<StalledPart>? stalled = null;
        var seen = new HashSet<string>();
        try
        {
            Check("conductor", "", "", engine.Client.ReadHealth().HeartbeatTimeNs);
            foreach (CatalogChannel channel in catalog.Snapshot())
            {
                if (channel.Handle is not { } handle || handle.State != ChannelState.Running)
                {
                    continue;
                }
                foreach ((bool send, bool present) in new[] { (true, channel.Config.Sends), (false, channel.Config.Receives) })
                {
                    if (present)
                    {
                        string worker = send ? "send" : "receive";
                        Check($"channel {channel.Config.Id} '{channel.Config.Name}' {worker} worker", channel.Config.Name, worker,
                            Volatile.Read(ref handle.Region.Health(send, WorkerHealthField.HeartbeatTimeNs)));
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The engine died between the reads: down, not stalled.
            return null;
        }
        foreach (string gone in _firstSeen.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _firstSeen.Remove(gone);
        }
        return stalled is null ? null : new EngineStall(engine.Pid, stalled.OrderByDescending(p => p.Age).ToList());

        void Check(string name, string channel, string worker, long beatNs)
        {
            seen.Add(name);
            if (!_firstSeen.TryGetValue(name, out long since))
            {
                _firstSeen[name] = since = now;
            }
            var age = TimeSpan.FromTicks(Math.Max(0, now - Math.Max(beatNs, since)) / 100);
            if (age > bound)
            {
                (stalled ??= []).Add(new StalledPart(name, channel, worker, age));
            }
        }
    }
}
