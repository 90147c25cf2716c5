using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Outcomes;

/// <summary>
/// WatchOutcomes' subscriptions by channel, and one <see cref="OutcomePump"/> per watched channel. A pump
/// decides to stop under the same lock that adds subscribers, so a channel never has two; a pump started
/// after one decided to stop runs once that one has finished (and withdrawn its request for reports).
/// </summary>
public sealed class OutcomeHub(Microsoft.Extensions.Options.IOptions<Api.RtUdpApiOptions> options)
{
    private readonly int _capacity = Math.Max(1, options.Value.OutcomeQueue);

    private readonly Lock _lock = new();
    private readonly Dictionary<ChannelEntry, List<OutcomeSubscription>> _watched = [];

    // Each channel's latest pump, until it has finished.
    private readonly Dictionary<ChannelEntry, Task> _pumps = [];

    /// <summary>Watches <paramref name="entry"/>'s outcomes; dispose the subscription through <see cref="Unsubscribe"/>.</summary>
    public OutcomeSubscription Subscribe(ChannelEntry entry, OutcomeFilter filter)
    {
        var subscription = new OutcomeSubscription(filter, _capacity);
        lock (_lock)
        {
            if (_watched.TryGetValue(entry, out List<OutcomeSubscription>? list))
            {
                _watched[entry] = [.. list, subscription];
            }
            else
            {
                _watched[entry] = [subscription];
                var pump = new OutcomePump(entry, () => Current(entry));
                // A pump that has just decided to stop still withdraws its request for reports as it ends: the new one
                // starts after that, or the engine would write no reports for the new one's subscribers.
                Task previous = _pumps.GetValueOrDefault(entry) ?? Task.CompletedTask;
                Task running = Task.Run(async () =>
                {
                    await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    try
                    {
                        await pump.RunAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
                    {
                        // The channel's memory went under the pump: its subscribers' streams end.
                        EndAll(entry);
                    }
                });
                _pumps[entry] = running;
                _ = running.ContinueWith(Finished, entry, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        return subscription;
    }

    public void Unsubscribe(ChannelEntry entry, OutcomeSubscription subscription)
    {
        lock (_lock)
        {
            if (_watched.TryGetValue(entry, out List<OutcomeSubscription>? list))
            {
                // A new list: the pump iterates its snapshot without a lock.
                _watched[entry] = [.. list.Where(s => !ReferenceEquals(s, subscription))];
            }
        }
    }

    private void Finished(Task pump, object? state)
    {
        var entry = (ChannelEntry)state!;
        lock (_lock)
        {
            if (_pumps.TryGetValue(entry, out Task? latest) && ReferenceEquals(latest, pump))
            {
                _pumps.Remove(entry);
            }
        }
    }

    private void EndAll(ChannelEntry entry)
    {
        lock (_lock)
        {
            if (_watched.Remove(entry, out List<OutcomeSubscription>? list))
            {
                foreach (OutcomeSubscription s in list)
                {
                    s.End();
                }
            }
        }
    }

    /// <summary>Subscribers watching <paramref name="entry"/> now.</summary>
    public int Count(ChannelEntry entry)
    {
        lock (_lock)
        {
            return _watched.TryGetValue(entry, out List<OutcomeSubscription>? list) ? list.Count : 0;
        }
    }

    /// <summary>The pump's question: whom to serve, or null to stop (nobody left, or the channel is going).</summary>
    private List<OutcomeSubscription>? Current(ChannelEntry entry)
    {
        lock (_lock)
        {
            if (!_watched.TryGetValue(entry, out List<OutcomeSubscription>? list))
            {
                return null;
            }
            if (list.Count == 0 || entry.Closing)
            {
                _watched.Remove(entry);
                foreach (OutcomeSubscription s in list)
                {
                    s.End();
                }
                return null;
            }
            return list;
        }
    }
}
