using System.Collections.Concurrent;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Generators;

/// <summary>
/// The daemon's generators by name ("channels/{ch}/generators/{id}"). Finished ones stay listed (with
/// their counters) until <see cref="MaxFinished"/> newer finished ones push them out. Stops every
/// running generator when the daemon closes its intake (SIGTERM: no new packets, as for PacketService)
/// and when it is disposed.
/// </summary>
internal sealed class GeneratorRegistry : IDisposable
{
    private readonly CancellationTokenRegistration _intakeClosed;

    public GeneratorRegistry(IIntakeGate? intake = null)
    {
        if (intake is not null)
        {
            _intakeClosed = intake.Closed.Register(() => Task.Run(() => StopAll("the daemon is stopping")));
        }
    }

    public const int MaxFinished = 256;

    private readonly ConcurrentDictionary<string, PacketGenerator> _generators = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private int _serial;

    public string NextId() => $"gen-{Interlocked.Increment(ref _serial)}";

    public bool TryAdd(PacketGenerator generator)
    {
        if (!_generators.TryAdd(generator.Name, generator))
        {
            return false;
        }
        _order.Enqueue(generator.Name);
        Prune();
        return true;
    }

    public bool TryGet(string name, out PacketGenerator generator) => _generators.TryGetValue(name, out generator!);

    /// <summary>Every generator of the channel named <paramref name="channelName"/> (all when null), by name.</summary>
    public IReadOnlyList<PacketGenerator> List(string? channelName) =>
        [.. _generators.Values.Where(g => channelName is null || g.ChannelName == channelName).OrderBy(g => g.Name, StringComparer.Ordinal)];

    private void Prune()
    {
        int finished = _generators.Values.Count(g => g.Finished);
        int scanned = _order.Count;
        while (finished > MaxFinished && scanned-- > 0 && _order.TryDequeue(out string? name))
        {
            if (_generators.TryGetValue(name, out PacketGenerator? g) && g.Finished)
            {
                _generators.TryRemove(name, out _);
                finished--;
            }
            else
            {
                _order.Enqueue(name);
            }
        }
    }

    private void StopAll(string note)
    {
        foreach (PacketGenerator generator in _generators.Values)
        {
            generator.Stop(note);
        }
    }

    public void Dispose()
    {
        _intakeClosed.Dispose();
        StopAll("the daemon is stopping");
    }
}
