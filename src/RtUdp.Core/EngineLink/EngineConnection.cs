using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.EngineLink;

/// <summary>
/// The daemon's side of the engine: attaches to the engine's control file, sends channel commands
/// through the command ring and waits for their answers, and reads engine health directly.
/// Commands are rare and serialised here; the packet paths (<see cref="ChannelHandle"/>) never lock.
/// </summary>
public sealed unsafe class EngineConnection : IDisposable
{
    private readonly EngineControlFile _control;
    private readonly RecordRing _commands;
    private readonly RecordRing _responses;
    private readonly Lock _commandLock = new();
    private readonly EngineDescriptorLink _descriptors;
    private long _correlation;

    // The mapping's users now (a command waiting for its answer, a health read) and whether Dispose began: Dispose
    // waits for the users to leave before it unmaps, and they leave at once once it began (Dekker: each side
    // writes its word with a full fence, then reads the other's). An engine that dies under a command must not take
    // rtudpd with it, reading an unmapped answer ring.
    private int _users;
    private int _closing;

    // Random start: tokens of two connections to one engine (rtudpd's and a tool's) do not collide.
    private ulong _descriptorToken = (ulong)Random.Shared.NextInt64();

    private EngineConnection(EngineControlFile control, string directory)
    {
        _control = control;
        Directory = directory;
        _descriptors = new EngineDescriptorLink(Path.Combine(directory, EngineControlLayout.SocketFileName));
        _commands = control.Commands;
        _responses = control.Responses;
    }

    public string Directory { get; }

    public static TimeSpan DefaultCommandTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>Waits until the engine in <paramref name="directory"/> is running, then attaches.</summary>
    public static EngineConnection Attach(string directory, TimeSpan timeout, Func<bool>? engineAlive = null)
    {
        string path = Path.Combine(directory, EngineControlLayout.FileName);
        long started = System.Diagnostics.Stopwatch.GetTimestamp(); // monotonic: wall-clock steps do not move the bound
        while (true)
        {
            if (File.Exists(path))
            {
                try
                {
                    if (EngineControlFile.OpenRunning(path) is { } control)
                    {
                        return new EngineConnection(control, directory);
                    }
                }
                catch (IOException)
                {
                    // Being created or removed right now: look again.
                }
            }
            if (engineAlive is not null && !engineAlive())
            {
                throw new EngineCommandException(EngineStatus.Unavailable, $"The engine exited before publishing {path}.");
            }
            if (System.Diagnostics.Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new EngineCommandException(EngineStatus.Unavailable, $"No running engine appeared at {path} within {timeout.TotalSeconds:0.#} s.");
            }
            Thread.Sleep(10);
        }
    }

    /// <summary>The engine's health words; once this connection is closed (the engine stopped or died), state Stopped.</summary>
    public EngineHealth ReadHealth()
    {
        if (!TryEnter())
        {
            return new EngineHealth { State = EngineState.Stopped };
        }
        try
        {
            return new()
            {
                State = _control.State,
                Pid = _control.Pid,
                Heartbeat = _control.Heartbeat,
                HeartbeatTimeNs = _control.HeartbeatTimeNs,
                ChannelCount = _control.ChannelCount,
                Gen0Collections = _control.Gen0Collections,
                Gen1Collections = _control.Gen1Collections,
                Gen2Collections = _control.Gen2Collections,
                AllocatedBytes = _control.AllocatedBytes,
                MemoryLocked = _control.MemoryLocked,
            };
        }
        finally
        {
            Exit();
        }
    }

    private bool TryEnter()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _closing) == 0)
        {
            return true;
        }
        Interlocked.Decrement(ref _users);
        return false;
    }

    private void Exit() => Interlocked.Decrement(ref _users);

    private static EngineCommandException Closed() =>
        new(EngineStatus.Unavailable, "The connection to the engine is closed: the engine stopped or died.");

    /// <summary>What the engine found the host and its NICs can do when it started (null if it could not probe).</summary>
    public Capabilities.CapabilityReport? ReadCapabilities()
    {
        string path = Path.Combine(Directory, Engine.EngineHost.CapabilitiesFileName);
        return File.Exists(path) ? Capabilities.CapabilityReport.FromJson(File.ReadAllText(path)) : null;
    }

    /// <summary>The engine's CPU plan as it last wrote it (null before it has).</summary>
    /// <exception cref="System.Text.Json.JsonException">The file is not a plan.</exception>
    public Engine.Cpus.CpuPlanReport? ReadCpuPlan()
    {
        string path = Path.Combine(Directory, Engine.Cpus.CpuPlanReport.FileName);
        try
        {
            return Engine.Cpus.CpuPlanReport.FromJson(File.ReadAllText(path));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Creates a channel (binds its socket) and opens its shared file.</summary>
    /// <exception cref="EngineCommandException">Invalid config (with the field), address in use, engine gone.</exception>
    public ChannelHandle CreateChannel(ChannelConfig config, TimeSpan? timeout = null)
    {
        if (config.Validate() is { } problem)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"{problem.Field}: {problem.Message}", problem.Field);
        }
        ChannelConfigBlock block = ChannelConfigBlock.From(config);
        ResponseBody response = Execute(EngineCommand.CreateChannel, config.Id, &block, timeout);
        return new ChannelHandle(ChannelRegion.Open(response.GetPath()), config);
    }

    public ChannelState StartChannel(uint id, TimeSpan? timeout = null) => (ChannelState)Execute(EngineCommand.StartChannel, id, null, timeout).ChannelState;

    public ChannelState StopChannel(uint id, TimeSpan? timeout = null) => (ChannelState)Execute(EngineCommand.StopChannel, id, null, timeout).ChannelState;

    public void DeleteChannel(uint id, TimeSpan? timeout = null) => Execute(EngineCommand.DeleteChannel, id, null, timeout);

    public void Ping(TimeSpan? timeout = null) => Execute(EngineCommand.Ping, 0, null, timeout);

    /// <summary>
    /// Hands a same-host client's region to the engine (docs/shm-clients.md): the memfd goes over engine.sock with
    /// a fresh token, then the AttachClient command names it. The engine maps the region, checks its header against
    /// <paramref name="channelId"/> and <paramref name="clientId"/>, and its intake agent serves it from then on.
    /// </summary>
    /// <param name="flags"><see cref="ClientRegionFlags"/> the client attaches with (within the region's).</param>
    /// <exception cref="EngineCommandException">No such channel (NotFound), wrong direction or a second receiver
    /// (FailedPrecondition), a bad region or limits (InvalidArgument), 60 clients already (ResourceExhausted), engine gone.</exception>
    public Task AttachClientAsync(uint channelId, uint clientId, SafeFileHandle memfd, uint flags, ClientAttachLimits limits, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(memfd);
        if (limits.Problem() is { } problem)
        {
            throw new ArgumentException($"Client limits: {problem}.", nameof(limits));
        }
        return Task.Run(() =>
        {
            bool added = false;
            memfd.DangerousAddRef(ref added);
            if (!TryEnter())
            {
                if (added)
                {
                    memfd.DangerousRelease();
                }
                throw Closed();
            }
            try
            {
                lock (_commandLock)
                {
                    ulong token = ++_descriptorToken;
                    _descriptors.Send(token, (int)memfd.DangerousGetHandle());
                    ClientCommandBody body = new()
                    {
                        ChannelId = channelId,
                        ClientId = clientId,
                        DescriptorToken = token,
                        Flags = flags,
                        PacketsPerSecond = limits.PacketsPerSecond,
                        Burst = limits.Burst,
                        QueuedPackets = limits.QueuedPackets,
                        HorizonNs = limits.HorizonNs,
                    };
                    _ = Execute(EngineCommand.AttachClient, (byte*)&body, sizeof(ClientCommandBody), null);
                }
            }
            finally
            {
                Exit();
                if (added)
                {
                    memfd.DangerousRelease();
                }
            }
        }, ct);
    }

    /// <inheritdoc cref="AttachClientAsync(uint, uint, SafeFileHandle, uint, ClientAttachLimits, CancellationToken)"/>
    /// <remarks>Attaches with the directions the region was made for (its header's flags).</remarks>
    public Task AttachClientAsync(uint channelId, uint clientId, SafeFileHandle memfd, ClientAttachLimits limits, CancellationToken ct) =>
        AttachClientAsync(channelId, clientId, memfd, ReadRegionFlags(memfd), limits, ct);

    /// <summary>
    /// Takes a client's region back from the engine: its published packets are sent (drain, up to
    /// <paramref name="drainTimeout"/>, default 2 s) or dropped, and what it never read is counted. The region's
    /// state says detached (unless the engine had faulted it), and the engine unmaps it.
    /// </summary>
    /// <exception cref="EngineCommandException">The client is not attached (NotFound), engine gone.</exception>
    public Task<ClientDetachCounts> DetachClientAsync(uint channelId, uint clientId, ClientExitPolicy policy, TimeSpan? drainTimeout, CancellationToken ct) =>
        // The engine answers at once, "pending" while the drain goes on: asked again until done, each ask a command
        // of its own, so that other commands are not held up behind a drain.
        ClientDetachPolling.RunAsync(
            () =>
            {
                ResponseBody response = AskDetach(channelId, clientId, policy, drainTimeout);
                return (response.ClientDetachPending != 0, new ClientDetachCounts(response.ClientDrained, response.ClientDropped, response.ClientRxUnread));
            },
            (drainTimeout ?? TimeSpan.FromSeconds(2)) + DefaultCommandTimeout,
            $"client {clientId} of channel {channelId}",
            ct);

    private ResponseBody AskDetach(uint channelId, uint clientId, ClientExitPolicy policy, TimeSpan? drainTimeout)
    {
        ClientCommandBody body = new()
        {
            ChannelId = channelId,
            ClientId = clientId,
            ExitPolicy = (int)policy,
            DrainTimeoutNs = drainTimeout is { } d ? (long)(d.TotalMilliseconds * 1_000_000) : 0,
        };
        return Execute(EngineCommand.DetachClient, (byte*)&body, sizeof(ClientCommandBody), null);
    }


    /// <inheritdoc cref="DetachClientAsync(uint, uint, ClientExitPolicy, TimeSpan?, CancellationToken)"/>
    public Task<ClientDetachCounts> DetachClientAsync(uint channelId, uint clientId, ClientExitPolicy policy, CancellationToken ct) =>
        DetachClientAsync(channelId, clientId, policy, null, ct);

    private static uint ReadRegionFlags(SafeFileHandle memfd)
    {
        using ClientRegion region = ClientRegion.Map((int)memfd.DangerousGetHandle());
        return region.Flags;
    }

    private ResponseBody Execute(EngineCommand command, uint channelId, ChannelConfigBlock* config, TimeSpan? timeout)
    {
        CommandBody body = new() { ChannelId = channelId };
        if (config != null)
        {
            body.Config = *config;
        }
        return Execute(command, (byte*)&body, sizeof(CommandBody), timeout);
    }

    /// <summary>Sends a command whose body starts as <see cref="CommandBody"/> does (the correlation id is set here).</summary>
    private ResponseBody Execute(EngineCommand command, byte* commandBody, int length, TimeSpan? timeout)
    {
        if (!TryEnter())
        {
            throw Closed();
        }
        try
        {
            lock (_commandLock)
            {
                return ExecuteEntered(command, commandBody, length, timeout);
            }
        }
        finally
        {
            Exit();
        }
    }

    private ResponseBody ExecuteEntered(EngineCommand command, byte* commandBody, int length, TimeSpan? timeout)
    {
        // Under the command lock, inside TryEnter: the mapping stays until this returns.
        long correlation = ++_correlation;
        ((CommandBody*)commandBody)->CorrelationId = correlation;
        int index = _commands.TryClaim((int)command, length);
        if (index < 0)
        {
            throw new EngineCommandException(EngineStatus.Unavailable, "The engine's command ring is full: the engine is not reading commands.");
        }
        Buffer.MemoryCopy(commandBody, _commands.Body(index), length, length);
        _commands.Commit(index);
        _commands.ConsumerWait.Signal();

        TimeSpan limit = timeout ?? DefaultCommandTimeout;
        long deadline = Libc.MonotonicNow() + ((long)limit.TotalMilliseconds * 1_000_000);
        var reader = new ResponseReader(correlation);
        while (true)
        {
            var wait = _responses.ConsumerWait;
            int ticket = wait.PrepareWait();
            _responses.Read(ref reader, int.MaxValue);
            if (reader.Found)
            {
                wait.CancelWait();
                ResponseBody response = reader.Response;
                if ((EngineStatus)response.Status != EngineStatus.Ok)
                {
                    throw new EngineCommandException((EngineStatus)response.Status, response.GetMessage(), response.GetField());
                }
                return response;
            }
            if (Volatile.Read(ref _closing) != 0)
            {
                wait.CancelWait();
                throw Closed();
            }
            if (Libc.MonotonicNow() > deadline)
            {
                wait.CancelWait();
                throw new EngineCommandException(EngineStatus.Unavailable, $"The engine did not answer {command} within {limit.TotalSeconds:0.#} s.");
            }
            wait.Wait(ticket, Math.Min(deadline, Libc.MonotonicNow() + 100_000_000));
        }
    }

    /// <summary>Skips stale answers (to commands that timed out) until the one awaited.</summary>
    private struct ResponseReader(long correlation) : IRecordHandler
    {
        public bool Found;
        public ResponseBody Response;

        public bool OnRecord(int type, byte* body, int length)
        {
            if (length >= sizeof(ResponseBody) && ((ResponseBody*)body)->CorrelationId == correlation)
            {
                Response = *(ResponseBody*)body;
                Found = true;
                return false;
            }
            return true;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        // A command asleep on the answer ring wakes, sees the close and leaves; then the mapping may go.
        _responses.ConsumerWait.ForceWake();
        if (!SpinWait.SpinUntil(() => Volatile.Read(ref _users) == 0, TimeSpan.FromSeconds(30)))
        {
            // A user that never leaves is a bug; leaking the mapping is better than unmapping it under that user.
            return;
        }
        _descriptors.Dispose();
        _control.Dispose();
    }
}
