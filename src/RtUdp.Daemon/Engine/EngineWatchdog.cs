using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// The watchdog's question, asked every half WATCHDOG_USEC: since the last call, did the engine's
/// conductor heartbeat advance, and every running channel's workers' heartbeats?
/// </summary>
internal sealed class EngineWatchdog(IChannelCatalog catalog)
{
    private readonly Dictionary<string, long> _lastBeats = [];
    private readonly Lock _lock = new();

    /// <summary>A new engine: nothing of the old one's to compare with.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _lastBeats.Clear();
        }
    }

    /// <returns>null when everything advanced, else what did not.</returns>
    public string? Check(EngineProcess? engine)
    {
        if (engine is null)
        {
            return "engine down";
        }
        lock (_lock)
        {
            var now = new Dictionary<string, long>();
            string? stalled = null;
            try
            {
                now["engine"] = engine.Client.ReadHealth().Heartbeat;
                foreach (CatalogChannel channel in catalog.Snapshot())
                {
                    if (channel.Handle is not { } handle || handle.State != ChannelState.Running)
                    {
                        continue;
                    }
                    if (channel.Config.Sends)
                    {
                        now[$"channel {channel.Config.Id} send worker"] = Volatile.Read(ref handle.Region.Health(true, WorkerHealthField.Heartbeat));
                    }
                    if (channel.Config.Receives)
                    {
                        now[$"channel {channel.Config.Id} receive worker"] = Volatile.Read(ref handle.Region.Health(false, WorkerHealthField.Heartbeat));
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                return "engine down";
            }
            foreach ((string name, long beat) in now)
            {
                // A part seen for the first time has nothing to compare with: it counts as advancing.
                if (_lastBeats.TryGetValue(name, out long last) && beat == last)
                {
                    stalled = stalled is null ? name : $"{stalled}, {name}";
                }
            }
            _lastBeats.Clear();
            foreach ((string name, long beat) in now)
            {
                _lastBeats[name] = beat;
            }
            return stalled is null ? null : $"engine {engine.Pid}: {stalled} not advancing";
        }
    }
}
