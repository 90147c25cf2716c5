using System.Collections.Concurrent;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Api;

/// <summary>
/// One channel of the daemon: its API id ("channels/{Id}"), the engine's numeric id, its config, whether
/// it should run, and its handle in the current engine (null while the engine is down or the channel
/// could not be restored). Packet paths take a lease (<see cref="Enter"/>) so a delete never unmaps
/// memory in use.
/// </summary>
public sealed class ChannelEntry
{
    /// <summary>The first packet_id rtudpd assigns; clients choose theirs below it.</summary>
    public const long FirstAssignedPacketId = RtUdp.Core.Contract.Channels.PacketIdRule.FirstAssigned;

    private int _users;
    private long _rejectedQuota;
    private long _nextPacketId = FirstAssignedPacketId;
    private long _outcomesDelivered;
    private long _outcomesMissed;
    private volatile bool _closing;
    private volatile ChannelHandle? _handle;
    private readonly Lock _receiverGate = new();

    internal ChannelEntry(string id, ChannelConfig config, bool started, ChannelHandle? handle, string? configKey = null)
    {
        Id = id;
        Config = config;
        Started = started;
        _handle = handle;
        ConfigKey = configKey;
    }

    /// <summary>Its configuration key ("Channels:0") for a configured channel; null for one created over the API.</summary>
    public string? ConfigKey { get; }

    /// <summary>What was asked that the host does not give, and what is in effect instead (e.g. SCHED_OTHER for a priority beyond RLIMIT_RTPRIO).</summary>
    public IReadOnlyList<string> Notes { get; internal set; } = [];

    /// <summary>The channel id (the name's last segment).</summary>
    public string Id { get; }

    /// <summary>"channels/{id}".</summary>
    public string Name => ChannelRegistry.Prefix + Id;

    public uint EngineId => Config.Id;

    public ChannelConfig Config { get; }

    /// <summary>Its workers should run (restored running after an engine restart).</summary>
    public bool Started { get; internal set; }

    /// <summary>The handle in the current engine; null while detached.</summary>
    public ChannelHandle? Handle { get => _handle; internal set => Adopt(value); }

    /// <summary>
    /// The endpoint the first engine bound (the kernel's port when 0 was asked). An engine restart binds it
    /// again, so peers sending to the channel (and the daemon's own senders) keep reaching it.
    /// </summary>
    public System.Net.IPEndPoint? BoundLocal { get; internal set; }

    /// <summary>The config an engine restart recreates the channel with: <see cref="Config"/> on the port bound first.</summary>
    internal ChannelConfig RestoreConfig => BoundLocal is { } bound ? Config with { Local = bound } : Config;

    /// <summary>
    /// The same-host client that receives on the channel over shared memory ("pid N, uid M"), or null. While it is
    /// set the daemon does not drain the RX ring (<see cref="ChannelHandle.SuspendDrains"/>, on every handle the
    /// channel gets) and gRPC receiving is FAILED_PRECONDITION naming it.
    /// </summary>
    public string? ShmReceiver { get; private set; }

    /// <summary>
    /// Hands the RX ring to a same-host client: false when another one has it. Waits for a drain in progress, so
    /// the engine's intake agent is the ring's only consumer from the moment this returns true.
    /// </summary>
    internal bool TryClaimShmReceiver(string client)
    {
        lock (_receiverGate)
        {
            if (ShmReceiver is not null)
            {
                return false;
            }
            ShmReceiver = client;
            _handle?.SuspendDrains();
            return true;
        }
    }

    /// <summary>The same-host receiver detached: the daemon drains the RX ring again.</summary>
    internal void ReleaseShmReceiver(string client)
    {
        lock (_receiverGate)
        {
            if (ShmReceiver == client)
            {
                ShmReceiver = null;
                _handle?.ResumeDrains();
            }
        }
    }

    /// <summary>A new handle (engine restart) keeps the exclusivity: suspended before anything can drain it.</summary>
    private void Adopt(ChannelHandle? handle)
    {
        lock (_receiverGate)
        {
            if (ShmReceiver is not null)
            {
                handle?.SuspendDrains();
            }
            _handle = handle;
        }
    }

    /// <summary>Why the channel is detached (engine died, restore failed), if it is.</summary>
    public string? DetachedReason { get; internal set; }

    /// <summary>Packets refused by the per-client limits (Limits:*) on this channel; never enqueued.</summary>
    public long RejectedQuota => Interlocked.Read(ref _rejectedQuota);

    internal void CountQuotaRefusal(long packets) => Interlocked.Add(ref _rejectedQuota, packets);

    /// <summary><paramref name="count"/> consecutive packet_ids for packets sent without one; returns the first.</summary>
    internal long AssignPacketIds(int count) => Interlocked.Add(ref _nextPacketId, count) - count;

    /// <summary>Packet outcomes streamed to WatchOutcomes subscribers, and those they missed (behind, or lost in the engine's report ring).</summary>
    public long OutcomesDelivered => Interlocked.Read(ref _outcomesDelivered);

    public long OutcomesMissed => Interlocked.Read(ref _outcomesMissed);

    internal void CountOutcomes(long delivered, long missed)
    {
        if (delivered != 0)
        {
            Interlocked.Add(ref _outcomesDelivered, delivered);
        }
        if (missed != 0)
        {
            Interlocked.Add(ref _outcomesMissed, missed);
        }
    }

    /// <summary>Being deleted: streams end, new leases are refused.</summary>
    public bool Closing => _closing;

    /// <summary>A lease on the current handle's memory; null once the channel is being deleted or while it is detached.</summary>
    public Lease? Enter()
    {
        Interlocked.Increment(ref _users);
        ChannelHandle? handle = _handle;
        if (_closing || handle is null)
        {
            Interlocked.Decrement(ref _users);
            return null;
        }
        return new Lease(this, handle);
    }

    /// <summary>Refuses new leases and waits (bounded) for the current ones to end; true if none is left.</summary>
    internal async Task<bool> CloseAsync(TimeSpan timeout)
    {
        _closing = true;
        Interlocked.MemoryBarrier();
        long started = System.Diagnostics.Stopwatch.GetTimestamp(); // monotonic: wall-clock steps do not move the bound
        while (Volatile.Read(ref _users) != 0)
        {
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > timeout)
            {
                return false;
            }
            await Task.Delay(5);
        }
        return true;
    }

    public sealed class Lease(ChannelEntry entry, ChannelHandle handle) : IDisposable
    {
        private int _disposed;

        public ChannelEntry Entry { get; } = entry;

        /// <summary>The handle the lease holds (stays mapped until the lease ends).</summary>
        public ChannelHandle Handle { get; } = handle;

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
/// <see cref="ChannelHandle"/>; the configured channels (DaemonSettings) and those created over the API.
/// It is the supervisor's <see cref="IChannelCatalog"/>: after an engine restart the supervisor creates
/// every channel again (running if it was) and attaches the new handles. Create, start, stop and delete
/// are serialised; lookups are lock-free.
/// </summary>
public sealed partial class ChannelRegistry : IChannelCatalog, IDisposable
{
    public const string Prefix = "channels/";

    private readonly ConcurrentDictionary<string, ChannelEntry> _channels = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _commands = new(1, 1);
    private readonly ILogger<ChannelRegistry> _logger;
    private readonly RetiredHandles _retired;
    private int _nextId;

    public ChannelRegistry(ILogger<ChannelRegistry> logger)
        : this(logger, [], new RetiredHandles())
    {
    }

    /// <param name="configured">The configured channels: registered now, attached by the supervisor when it arms them.</param>
    /// <param name="retired">Where deleted channels' handles wait until no reader holds them (shared with the supervisor).</param>
    public ChannelRegistry(ILogger<ChannelRegistry> logger, IEnumerable<ConfiguredChannel> configured, RetiredHandles retired)
    {
        ArgumentNullException.ThrowIfNull(configured);
        _logger = logger;
        _retired = retired;
        foreach (ConfiguredChannel c in configured)
        {
            _channels[c.Config.Name] = new ChannelEntry(c.Config.Name, c.Config, c.Start, handle: null, c.Key);
            _nextId = Math.Max(_nextId, (int)Math.Min(c.Config.Id, int.MaxValue));
        }
    }

    public int Count => _channels.Count;

    /// <summary>After a channel is deleted (in the engine too): its same-host clients end (the broker listens).</summary>
    public event Action<ChannelEntry>? Deleted;

    /// <summary>The channel id in "channels/{id}", or null when the name has another form.</summary>
    public static string? IdFromName(string name) =>
        name is not null && name.StartsWith(Prefix, StringComparison.Ordinal) && name.Length > Prefix.Length && name.IndexOf('/', Prefix.Length) < 0
            ? name[Prefix.Length..]
            : null;

    public bool TryGet(string id, out ChannelEntry entry) => _channels.TryGetValue(id, out entry!);

    /// <summary>Every channel, in id order.</summary>
    public IReadOnlyList<ChannelEntry> List() => [.. _channels.Values.OrderBy(e => e.Id, StringComparer.Ordinal)];

    /// <inheritdoc/>
    public IReadOnlyList<CatalogChannel> Snapshot() =>
        [.. _channels.Values.Where(e => !e.Closing).OrderBy(e => e.EngineId).Select(e => new CatalogChannel(e.RestoreConfig, e.Started, e.Handle, e.ConfigKey))];

    /// <inheritdoc/>
    public void Attach(uint id, ChannelHandle? handle, string? error, IReadOnlyList<string>? notes = null)
    {
        ChannelEntry? entry = _channels.Values.FirstOrDefault(e => e.EngineId == id);
        if (entry is null || entry.Closing)
        {
            // Deleted while the supervisor armed it: nothing will use this handle.
            handle?.Dispose();
            return;
        }
        entry.Handle = handle;
        entry.BoundLocal ??= handle?.BoundLocal;
        entry.DetachedReason = handle is null ? error ?? "detached" : null;
        if (notes is not null)
        {
            entry.Notes = notes;
        }
    }

    /// <summary>Creates the channel in the engine under a fresh numeric id (and starts it when asked).</summary>
    /// <param name="notes">The degradations it runs with (<see cref="ChannelEntry.Notes"/>).</param>
    /// <exception cref="EngineCommandException">The engine refused it (AlreadyExists when the id is taken here).</exception>
    public async Task<ChannelEntry> CreateAsync(string id, ChannelConfig config, EngineConnection engine, bool start, CancellationToken cancellationToken, IReadOnlyList<string>? notes = null)
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
            var entry = new ChannelEntry(id, withId, started: false, handle) { BoundLocal = handle.BoundLocal, Notes = notes ?? [] };
            _channels[id] = entry;
            Log.Created(_logger, entry.Name, entry.EngineId, handle.BoundLocal);
            if (start)
            {
                await Task.Run(() => engine.StartChannel(entry.EngineId), CancellationToken.None);
                entry.Started = true;
            }
            return entry;
        }
        finally
        {
            _commands.Release();
        }
    }

    public Task<ChannelState> StartAsync(ChannelEntry entry, EngineConnection engine) => Command(entry, started: true, () => engine.StartChannel(entry.EngineId));

    public Task<ChannelState> StopAsync(ChannelEntry entry, EngineConnection engine) => Command(entry, started: false, () => engine.StopChannel(entry.EngineId));

    private async Task<ChannelState> Command(ChannelEntry entry, bool started, Func<ChannelState> command)
    {
        await _commands.WaitAsync();
        try
        {
            ChannelState state = await Task.Run(command);
            entry.Started = started;
            return state;
        }
        finally
        {
            _commands.Release();
        }
    }

    /// <summary>
    /// Deletes the channel: in the engine (when <paramref name="engine"/> is given and the channel is
    /// attached), then lets the packet paths using it go. Returns its counters after the engine deleted
    /// it (queued packets counted as dropped), or null when it was detached.
    /// </summary>
    public async Task<ChannelStats?> DeleteAsync(ChannelEntry entry, EngineConnection? engine)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await _commands.WaitAsync();
        try
        {
            if (!_channels.TryRemove(new KeyValuePair<string, ChannelEntry>(entry.Id, entry)))
            {
                throw new EngineCommandException(EngineStatus.NotFound, $"{entry.Name} does not exist.");
            }
            await entry.CloseAsync(TimeSpan.FromSeconds(5));
            ChannelHandle? handle = entry.Handle;
            if (handle is not null && engine is not null)
            {
                try
                {
                    await Task.Run(() => engine.DeleteChannel(entry.EngineId));
                }
                catch (EngineCommandException e) when (e.Status is EngineStatus.NotFound)
                {
                    // The engine no longer has it (restarted): nothing to delete there.
                }
            }
            ChannelStats? counters = handle?.ReadStats();
            if (handle is not null)
            {
                // Readers that looked it up just before may still touch its memory: unmap it later.
                _retired.Retire(handle);
            }
            Log.Deleted(_logger, entry.Name, entry.EngineId);
            Deleted?.Invoke(entry);
            return counters;
        }
        finally
        {
            _commands.Release();
        }
    }

    public void Dispose()
    {
        // The supervisor retires the handles of the channels it knows at shutdown.
        _channels.Clear();
        _commands.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Channel {Channel} created (engine id {EngineId}, bound {Local})")]
        public static partial void Created(ILogger logger, string channel, uint engineId, System.Net.IPEndPoint local);

        [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Channel {Channel} deleted (engine id {EngineId})")]
        public static partial void Deleted(ILogger logger, string channel, uint engineId);
    }
}
