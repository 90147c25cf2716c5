using System.Globalization;
using Microsoft.Extensions.Options;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Core.Net;
using RtUdp.Daemon.Api;
using RtUdp.Daemon.Capture;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;
using RtUdp.Daemon.Limits;

namespace RtUdp.Daemon.Shm;

/// <summary>
/// Same-host clients' broker (docs/shm-clients.md): listens on <c>Listen:ShmSocket</c> (SOCK_SEQPACKET), checks each
/// peer, creates its region, has the engine attach it and hands the memfd over; then watches the connection, which
/// is the attachment's lifetime. Accepting and each connection run on threads of their own (blocking calls, never
/// the thread pool's). It also keeps attachments across engine restarts and ends them when their channel goes.
/// </summary>
internal sealed class ShmBroker : IHostedService, IDisposable
{
    /// <summary>How long a detach may keep a client waiting (the engine drains within its own bound).</summary>
    internal static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    /// <summary>A client that exits while no engine runs is detached once one does, if it comes back within this.</summary>
    internal static readonly TimeSpan EngineReturnTimeout = TimeSpan.FromSeconds(60);

    private const int PollMs = 250;

    private readonly ListenOptions _listen;
    private readonly ClientLimitsOptions _limits;
    private readonly RtUdpApiOptions _api;
    private readonly EngineSupervisor _supervisor;
    private readonly ChannelRegistry _registry;
    private readonly CaptureRegistry _captures;
    private readonly ILogger<ShmBroker> _logger;
    private readonly List<Thread> _threads = [];
    private readonly Lock _threadsGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private string? _path;
    private int _listenFd = -1;
    private Thread? _acceptor;
    private readonly Lock _engineWorkGate = new();
    private Task _engineWork = Task.CompletedTask;
    private EngineConnection? _engine;

    public ShmBroker(DaemonSettings settings, IOptions<RtUdpApiOptions> api, EngineSupervisor supervisor, ChannelRegistry registry, CaptureRegistry captures, ILogger<ShmBroker> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(api);
        _listen = settings.Listen;
        _limits = settings.Limits;
        _api = api.Value;
        _supervisor = supervisor;
        _registry = registry;
        _captures = captures;
        _logger = logger;
    }

    internal ShmSessions Sessions { get; } = new();

    internal ILogger Logger => _logger;

    internal ChannelRegistry Registry => _registry;

    internal CaptureRegistry Captures => _captures;

    internal ClientLimitsOptions Limits => _limits;

    internal EngineSupervisor Supervisor => _supervisor;

    /// <summary>The scheduling horizon of the gRPC path (Api:SchedulingHorizon): a due time further ahead is malformed.</summary>
    internal long HorizonNs => (long)(_api.SchedulingHorizon.TotalMilliseconds * 1_000_000);

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>The daemon's uid: its own user may always attach.</summary>
    internal uint DaemonUid { get; } = Tmds.Linux.LibC.geteuid();

    /// <summary>The socket file's group after bind: its members may attach.</summary>
    internal uint SocketGid { get; private set; }

    internal string SocketPath => _path ?? "";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _path = _listen.EffectiveShmSocket;
        if (_path is null)
        {
            ShmLog.Disabled(_logger);
            return Task.CompletedTask;
        }
        RemoveStaleSocket(_path);
        _listenFd = UnixSeqPacket.Listen(_path, 64);
        string group = ApplyModeAndGroup(_path);
        string mode = Convert.ToString(_listen.UnixSocketModeBits, 8).PadLeft(4, '0');
        ShmLog.Listening(_logger, _path, mode, group);
        _engine = _supervisor.Client;
        _supervisor.EngineChanged += OnEngineChanged;
        _registry.Deleted += OnChannelDeleted;
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "rtudp-shm-accept" };
        _acceptor.Start();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops accepting, then detaches every client while the engine still runs (hosted services stop in reverse
    /// order, the supervisor after this), each by its channel's client_exit policy, so nothing in a ring goes uncounted.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return;
        }
        await _stopping.CancelAsync();
        _supervisor.EngineChanged -= OnEngineChanged;
        _registry.Deleted -= OnChannelDeleted;
        _acceptor?.Join();
        // All at once: each drain may take its time (the client's limits hold), and the engine takes detaches side by side.
        await Task.WhenAll(Sessions.Snapshot().Select(async session =>
        {
            await DetachAsync(session, "rtudpd stopped", ShmStatus.Detached, CancellationToken.None);
            session.ShutdownConnection();
        }));
        Thread[] threads;
        lock (_threadsGate)
        {
            threads = [.. _threads];
        }
        foreach (Thread thread in threads)
        {
            thread.Join(TimeSpan.FromSeconds(5));
        }
        UnixSeqPacket.Close(Interlocked.Exchange(ref _listenFd, -1));
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
            // Gone already, or its directory with it.
        }
    }

    public void Dispose()
    {
        UnixSeqPacket.Close(Interlocked.Exchange(ref _listenFd, -1));
        _stopping.Dispose();
    }

    /// <summary>
    /// Detaches in the engine by the channel's client_exit policy, tells the client (state 2) and forgets the
    /// session. The connection's thread still owns (and later disposes) the session. Returns the status and the
    /// message for a detach request's answer.
    /// </summary>
    internal async Task<(ShmStatus Status, string Message)> DetachAsync(ShmSession session, string cause, ShmStatus status, CancellationToken cancellationToken)
    {
        await session.Gate.WaitAsync(CancellationToken.None);
        try
        {
            if (session.Ended)
            {
                return (ShmStatus.Detached, "the attachment had ended already (channel deleted, or the engine restart failed)");
            }
            ClientExitPolicy policy = session.Channel.Config.ClientExit;
            string policyName = policy.ToString().ToLowerInvariant();
            ClientDetachCounts counts = default;
            string? failure = null;
            for (int attempt = 1; ; attempt++)
            {
                if (!session.InEngine && !_stopping.IsCancellationRequested)
                {
                    // The engine is being restarted: the reattach gives the ring to the new one, then this detaches it.
                    session.Gate.Release();
                    bool back = session.Reattached.Wait(EngineReturnTimeout, cancellationToken);
                    await session.Gate.WaitAsync(CancellationToken.None);
                    if (session.Ended)
                    {
                        return (ShmStatus.Detached, "the attachment had ended already (channel deleted, or the engine restart failed)");
                    }
                    if (!back)
                    {
                        failure = $"no engine came back within {EngineReturnTimeout.TotalSeconds:0} s";
                        break;
                    }
                }
                if (session.AttachedTo is not { } engine)
                {
                    failure = "no engine runs";
                    break;
                }
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(CommandTimeout);
                    counts = await ShmEngineCommands.DetachAsync(engine, session.Channel.EngineId, session.ClientId, policy, timeout.Token);
                    break;
                }
                catch (Exception e) when (e is Core.Contract.Control.EngineCommandException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException or NativeCallException or ObjectDisposedException)
                {
                    failure = e.Message;
                    if (attempt < MaxDetachAttempts && !_stopping.IsCancellationRequested && !ReferenceEquals(Volatile.Read(ref _engine), engine))
                    {
                        // The engine died under the detach: the ring waits for the next engine like every other (the
                        // dead engine's loss accounting counts what it had taken), and the detach is done there.
                        failure = null;
                        MarkReattaching(session);
                        continue;
                    }
                    break;
                }
            }
            string message = failure is null
                ? $"detached ({cause}, client_exit {policyName}): {counts.Drained} sent on, {counts.Dropped} dropped, {counts.RxUnread} received and never read"
                : $"detached ({cause}); the engine could not account the ring: {failure}";
            _ = End(session, status, message);
            if (failure is null)
            {
                ShmLog.Detached(_logger, session.ClientId, session.Peer.Description, session.Channel.Name, cause, policyName, counts.Drained, counts.Dropped, counts.RxUnread);
            }
            else
            {
                ShmLog.DetachFailed(_logger, session.ClientId, session.Peer.Description, session.Channel.Name, failure);
            }
            return (failure is null ? ShmStatus.Ok : ShmStatus.System, message);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    internal void Track(Thread thread)
    {
        lock (_threadsGate)
        {
            _threads.RemoveAll(t => !t.IsAlive);
            _threads.Add(thread);
        }
    }

    /// <summary>The session is over: state 2 for the client, the RX ring back to the daemon, its slot freed. Under the session's gate.</summary>
    private bool End(ShmSession session, ShmStatus status, string message)
    {
        if (!session.End())
        {
            return false;
        }
        session.AttachedTo = null;
        session.Publish(ClientState.Detached, status, message);
        if (session.Receives)
        {
            session.Channel.ReleaseShmReceiver(session.Peer.Description);
        }
        Sessions.Remove(session);
        return true;
    }

    private void AcceptLoop()
    {
        string path = _path!;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                if (!UnixSeqPacket.WaitReadable(_listenFd, PollMs, path))
                {
                    continue;
                }
                int fd = UnixSeqPacket.Accept(_listenFd, path);
                if (fd >= 0)
                {
                    ShmConnection.Start(this, fd);
                }
            }
        }
        catch (NativeCallException e)
        {
            ShmLog.AcceptFailed(_logger, e, path);
        }
    }

    /// <summary>
    /// The engine died (null) or a new one runs with its channels re-armed. The work runs in order, off the
    /// supervisor's thread (a session's gate may be held by a detach waiting on the dead engine's command).
    /// </summary>
    private void OnEngineChanged(EngineConnection? engine)
    {
        lock (_engineWorkGate)
        {
            EngineConnection? dead = engine is null ? _engine : null;
            _engine = engine;
            _engineWork = _engineWork.ContinueWith(_ => engine is null ? MarkReattachingAsync(dead) : ReattachAllAsync(engine), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>Engines a detach follows the ring through when each dies under it, before it gives up.</summary>
    private const int MaxDetachAttempts = 3;

    /// <summary>
    /// Under the session's gate: its engine died, so its records wait in the ring for the next engine's reattach
    /// (state 4). A detach the engine died under marks it itself; <see cref="MarkReattachingAsync"/>, waiting for the
    /// gate meanwhile, then leaves it alone.
    /// </summary>
    private static void MarkReattaching(ShmSession session)
    {
        session.AttachedTo = null;
        session.Reattached.Reset();
        session.Publish(ClientState.Reattaching, ShmStatus.Ok, "the engine restarts: records wait in the ring for the next one");
    }

    /// <summary>Every region attached in the engine that died says state 4: its records wait for the next engine.</summary>
    private async Task MarkReattachingAsync(EngineConnection? dead)
    {
        int count = 0;
        foreach (ShmSession session in Sessions.Snapshot())
        {
            await session.Gate.WaitAsync(CancellationToken.None);
            try
            {
                // A session attached in a newer engine already (the restart was quick) is left alone.
                if (!session.Ended && session.AttachedTo is { } engine && (dead is null || ReferenceEquals(engine, dead)))
                {
                    MarkReattaching(session);
                    count++;
                }
            }
            finally
            {
                session.Gate.Release();
            }
        }
        if (count > 0)
        {
            ShmLog.Reattaching(_logger, count);
        }
    }

    private Task ReattachAllAsync(EngineConnection engine) => ReattachAllAsync(engine, Sessions.Snapshot());

    private async Task ReattachAllAsync(EngineConnection engine, IReadOnlyList<ShmSession> sessions)
    {
        foreach (ShmSession session in sessions)
        {
            await session.Gate.WaitAsync(CancellationToken.None);
            try
            {
                if (session.Ended || ReferenceEquals(session.AttachedTo, engine))
                {
                    continue;
                }
                ChannelEntry channel = session.Channel;
                string? reason = channel.Closing ? "the channel was deleted"
                    : channel.Handle is null ? $"the channel could not be re-armed: {channel.DetachedReason ?? "detached"}"
                    : null;
                if (reason is null)
                {
                    try
                    {
                        using var timeout = new CancellationTokenSource(CommandTimeout);
                        await ShmEngineCommands.AttachAsync(engine, channel.EngineId, session.ClientId, session.Memfd, session.Flags, session.Limits, timeout.Token);
                    }
                    catch (Exception e) when (e is Core.Contract.Control.EngineCommandException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException or NativeCallException)
                    {
                        reason = $"the new engine refused it: {e.Message}";
                    }
                }
                if (reason is not null)
                {
                    _ = End(session, ShmStatus.Detached, reason);
                    ShmLog.ReattachFailed(_logger, session.ClientId, session.Peer.Description, channel.Name, reason);
                    session.Reattached.Set(); // a detach waiting for the engine goes on (and finds it ended)
                    continue;
                }
                uint epoch = session.Region.Epoch + 1;
                session.Region.SetEpoch(epoch);
                session.AttachedTo = engine;
                session.Publish(ClientState.Attached, ShmStatus.Ok, "attached");
                session.Reattached.Set();
                ShmLog.Reattached(_logger, session.ClientId, session.Peer.Description, channel.Name, epoch);
            }
            finally
            {
                session.Gate.Release();
            }
        }
    }

    /// <summary>The engine deleted the channel and its clients with it: each gets state 2, "channel deleted".</summary>
    private void OnChannelDeleted(ChannelEntry channel)
    {
        foreach (ShmSession session in Sessions.On(channel))
        {
            bool ended;
            session.Gate.Wait();
            try
            {
                ended = End(session, ShmStatus.Detached, $"channel deleted ({channel.Name})");
            }
            finally
            {
                session.Gate.Release();
            }
            if (!ended)
            {
                continue; // its client left meanwhile
            }
            session.Reattached.Set();
            ShmLog.ChannelDeleted(_logger, session.ClientId, session.Peer.Description, channel.Name);
            // The connection's thread wakes (EOF) and closes it.
            session.ShutdownConnection();
        }
    }

    /// <summary>Removes a socket file a dead daemon left; refuses one a live process listens on.</summary>
    private static void RemoveStaleSocket(string path)
    {
        string directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        if (!File.Exists(path))
        {
            return;
        }
        try
        {
            UnixSeqPacket.Close(UnixSeqPacket.Connect(path));
        }
        catch (NativeCallException)
        {
            // Nobody listens: a daemon that died left it.
            File.Delete(path);
            return;
        }
        throw new InvalidOperationException($"Listen:ShmSocket: '{path}' is in use by a running process (another rtudpd?)");
    }

    /// <summary>The gRPC socket's mode and group (Listen:UnixSocketMode, Listen:UnixSocketGroup); returns the group in effect.</summary>
    private unsafe string ApplyModeAndGroup(string path)
    {
        File.SetUnixFileMode(path, (UnixFileMode)_listen.UnixSocketModeBits);
        if (_listen.UnixSocketGroup.Length > 0)
        {
            if (Listeners.GroupId(_listen.UnixSocketGroup) is { } gid)
            {
                // As for the gRPC socket: chown only when needed (systemd's filter refuses it in the unit).
                if (Tmds.Linux.LibC.getegid() != gid)
                {
                    Errno.Check(Libc.chown(path, uint.MaxValue, gid), $"chown(\"{path}\", -1, {gid} ({_listen.UnixSocketGroup}))");
                }
            }
            else
            {
                ShmLog.NoSocketGroup(_logger, _listen.UnixSocketGroup, path);
            }
        }
        Tmds.Linux.stat st;
        byte[] name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = name)
        {
            Errno.Check(Tmds.Linux.LibC.stat(p, &st), $"stat(\"{path}\")");
        }
        SocketGid = st.st_gid;
        return $"{ShmPeer.GroupName(SocketGid)} (gid {SocketGid.ToString(CultureInfo.InvariantCulture)})";
    }
}
