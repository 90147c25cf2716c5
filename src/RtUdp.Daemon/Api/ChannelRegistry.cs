using System.Collections.Concurrent;
using RtUdp.Core.Channels;
using RtUdp.Core.Client;
using RtUdp.Core.Control;

namespace RtUdp.Daemon.Api;

/// <summary>
/// One channel the daemon created: its API id ("channels/{Id}"), the engine's numeric id, its
/// config and the handle to its shared memory. Packet paths take a lease (<see cref="Enter"/>)
/// so a concurrent delete never unmaps memory in use.
/// </summary>
public sealed class ChannelEntry
{
    private int _users;
    private volatile bool _closing;

    internal ChannelEntry(string id, ChannelHandle handle, EngineClient engine)
    {
        Id = id;
        Handle = handle;
        Engine = engine;
    }

    /// <summary>The channel id (the name's last segment).</summary>
    public string Id { get; }

    /// <summary>"channels/{id}".</summary>
    public string Name => ChannelRegistry.Prefix + Id;

    public uint EngineId => Handle.Id;

    public ChannelConfig Config => Handle.Config;

    public ChannelHandle Handle { get; }

    /// <summary>The engine that holds the channel; when the engine dies the channel is lost with it.</summary>
    public EngineClient Engine { get; }

    /// <summary>Being deleted: streams end, new leases are refused.</summary>
    public bool Closing => _closing;

    /// <summary>Takes a lease on the handle's memory; null once the channel is being deleted.</summary>
    public Lease? Enter()
    {
        Interlocked.Increment(ref _users);
        if (_closing)
        {
            Interlocked.Decrement(ref _users);
            return null;
        }
        return new Lease(this);
    }

    /// <summary>Refuses new leases and waits (bounded) for the current ones to end; true if none is left.</summary>
    internal async Task<bool> CloseAsync(TimeSpan timeout)
    {
        _closing = true;
        Interlocked.MemoryBarrier();
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _users) != 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(5);
        }
        return true;
    }

    public sealed class Lease(ChannelEntry entry) : IDisposable
    {
        private int _disposed;

        public ChannelEntry Entry { get; } = entry;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref Entry._users);
            }
        }
    }
}

/// <summary>
/// The daemon's channels: API id ("channels/{id}", [a-z0-9._-]) to engine numeric id, config and
/// <see cref="ChannelHandle"/>. Create, start, stop and delete are serialised (the engine runs its
/// commands one at a time anyway); lookups are lock-free.
/// </summary>
public sealed partial class ChannelRegistry : IDisposable
{
    public const string Prefix = "channels/";

    private readonly ConcurrentDictionary<string, ChannelEntry> _channels = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _commands = new(1, 1);
    private readonly ILogger<ChannelRegistry> _logger;
    private int _nextId;

    public ChannelRegistry(ILogger<ChannelRegistry> logger) => _logger = logger;

    public int Count => _channels.Count;

    /// <summary>The channel id in "channels/{id}", or null when the name has another form.</summary>
    public static string? IdFromName(string name) =>
        name is not null && name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length > Prefix.Length && name.IndexOf('/', Prefix.Length) < 0
            ? name[Prefix.Length..]
            : null;

    public bool TryGet(string id, out ChannelEntry entry) => _channels.TryGetValue(id, out entry!);

    /// <summary>Every channel, in id order.</summary>
    public IReadOnlyList<ChannelEntry> List() => [.. _channels.Values.OrderBy(e => e.Id, StringComparer.Ordinal)];

    /// <summary>Creates the channel in the engine under a fresh numeric id.</summary>
    /// <exception cref="EngineCommandException">The engine refused it (AlreadyExists when the id is taken here).</exception>
    public async Task<ChannelEntry> CreateAsync(string id, ChannelConfig config, EngineClient engine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(engine);
        await _commands.WaitAsync(cancellationToken);
        try
        {
            if (_channels.ContainsKey(id))
            {
                throw new EngineCommandException(EngineStatus.AlreadyExists, $"{Prefix}{id} already exists.");
            }
            ChannelConfig withId = config with { Id = (uint)Interlocked.Increment(ref _nextId), Name = id };
            ChannelHandle handle = await Task.Run(() => engine.CreateChannel(withId), CancellationToken.None);
            var entry = new ChannelEntry(id, handle, engine);
            _channels[id] = entry;
            Log.Created(_logger, entry.Name, entry.EngineId, handle.BoundLocal);
            return entry;
        }
        finally
        {
            _commands.Release();
        }
    }

    public Task<ChannelState> StartAsync(ChannelEntry entry) => Command(entry, e => e.Engine.StartChannel(e.EngineId));

    public Task<ChannelState> StopAsync(ChannelEntry entry) => Command(entry, e => e.Engine.StopChannel(e.EngineId));

    private async Task<ChannelState> Command(ChannelEntry entry, Func<ChannelEntry, ChannelState> command)
    {
        await _commands.WaitAsync();
        try
        {
            return await Task.Run(() => command(entry));
        }
        finally
        {
            _commands.Release();
        }
    }

    /// <summary>
    /// Deletes the channel: in the engine (when <paramref name="inEngine"/>; not for a channel lost with
    /// its engine), then waits for the packet paths using it to let go and unmaps it.
    /// Returns the channel's counters after the engine deleted it (queued packets counted as dropped).
    /// </summary>
    public async Task<IReadOnlyDictionary<ChannelCounter, long>> DeleteAsync(ChannelEntry entry, bool inEngine)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _commands.WaitAsync();
        try
        {
            if (!_channels.TryRemove(new KeyValuePair<string, ChannelEntry>(entry.Id, entry)))
            {
                throw new EngineCommandException(EngineStatus.NotFound, $"{entry.Name} does not exist.");
            }
            bool released = await entry.CloseAsync(TimeSpan.FromSeconds(5));
            if (inEngine)
            {
                try
                {
                    await Task.Run(() => entry.Engine.DeleteChannel(entry.EngineId));
                }
                catch (EngineCommandException e) when (e.Status is EngineStatus.NotFound)
                {
                    // The engine no longer has it (restarted): nothing to delete there.
                }
            }
            IReadOnlyDictionary<ChannelCounter, long> counters = entry.Handle.ReadStats().Counters;
            if (released)
            {
                entry.Handle.Dispose();
            }
            else
            {
                // A packet path still holds it: leave the mapping to the GC rather than unmap memory in use.
                Log.LeakedMapping(_logger, entry.Name);
            }
            Log.Deleted(_logger, entry.Name, entry.EngineId);
            return counters;
        }
        finally
        {
            _commands.Release();
        }
    }

    /// <summary>
    /// After an engine restart: creates every channel of the registry anew in <paramref name="engine"/>
    /// (same id and config, started again if it was running) and returns, per channel, the packets the
    /// old engine still held when it died (lost: pending TX and buffered RX). Channels the new engine
    /// refuses are removed and reported with -1. For the hosting service to call.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> RestoreAsync(EngineClient engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var lost = new Dictionary<string, long>(StringComparer.Ordinal);
        await _commands.WaitAsync();
        try
        {
            foreach (ChannelEntry old in _channels.Values.Where(e => e.Engine != engine).ToList())
            {
                ChannelStats stats = old.Handle.ReadStats();
                long lostPackets = (old.Config.Sends ? stats.Pending : 0) + (old.Config.Receives ? stats.Buffered : 0);
                bool wasRunning = stats.State == ChannelState.Running;
                await old.CloseAsync(TimeSpan.FromSeconds(5));
                old.Handle.Dispose();
                try
                {
                    ChannelHandle handle = await Task.Run(() => engine.CreateChannel(old.Config));
                    var entry = new ChannelEntry(old.Id, handle, engine);
                    _channels[old.Id] = entry;
                    if (wasRunning)
                    {
                        await Task.Run(() => engine.StartChannel(entry.EngineId));
                    }
                    lost[old.Id] = lostPackets;
                    Log.Restored(_logger, old.Name, lostPackets);
                }
                catch (EngineCommandException e)
                {
                    _channels.TryRemove(old.Id, out _);
                    lost[old.Id] = -1;
                    Log.RestoreFailed(_logger, e, old.Name);
                }
            }
        }
        finally
        {
            _commands.Release();
        }
        return lost;
    }

    public void Dispose()
    {
        foreach (ChannelEntry entry in _channels.Values)
        {
            entry.Handle.Dispose();
        }
        _channels.Clear();
        _commands.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Channel {Channel} created (engine id {EngineId}, bound {Local})")]
        public static partial void Created(ILogger logger, string channel, uint engineId, System.Net.IPEndPoint local);

        [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Channel {Channel} deleted (engine id {EngineId})")]
        public static partial void Deleted(ILogger logger, string channel, uint engineId);

        [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Channel {Channel}: a request still used its memory after 5 s; its memory stays mapped rather than be unmapped in use")]
        public static partial void LeakedMapping(ILogger logger, string channel);

        [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Channel {Channel} restored in the new engine; {Lost} packet(s) the old engine held were lost")]
        public static partial void Restored(ILogger logger, string channel, long lost);

        [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "Channel {Channel} could not be restored in the new engine; removed")]
        public static partial void RestoreFailed(ILogger logger, Exception exception, string channel);
    }
}
