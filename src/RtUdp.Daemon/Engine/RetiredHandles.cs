using RtUdp.Core.EngineLink;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// Channel handles taken out of use (their channel deleted, or their engine dead) but not unmapped yet:
/// API callers that looked one up a moment earlier may still read or write its memory. Each is disposed
/// after a grace period, or all at once when the daemon stops.
/// </summary>
public sealed class RetiredHandles : IDisposable
{
    private static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _grace;
    private readonly HashSet<ChannelHandle> _retired = [];

    public RetiredHandles()
        : this(DefaultGrace)
    {
    }

    internal RetiredHandles(TimeSpan grace) => _grace = grace;

    /// <summary>Disposes <paramref name="handle"/> once the grace period has passed.</summary>
    public void Retire(ChannelHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        lock (_retired)
        {
            _retired.Add(handle);
        }
        // Task.Delay runs on the monotonic tick count: a wall-clock step does not shorten the grace.
        _ = Task.Delay(_grace).ContinueWith(_ => Release(handle), TaskScheduler.Default);
    }

    /// <summary>Disposes every retired handle now (the daemon is stopping).</summary>
    public void ReleaseAll()
    {
        List<ChannelHandle> handles;
        lock (_retired)
        {
            handles = [.. _retired];
            _retired.Clear();
        }
        foreach (ChannelHandle handle in handles)
        {
            handle.Dispose();
        }
    }

    private void Release(ChannelHandle handle)
    {
        lock (_retired)
        {
            // Gone already when everything was released at stop.
            if (!_retired.Remove(handle))
            {
                return;
            }
        }
        handle.Dispose();
    }

    public void Dispose() => ReleaseAll();
}
