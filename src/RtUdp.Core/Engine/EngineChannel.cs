using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Engine.Send;
using XdpChannelPort = RtUdp.Core.Xdp.XdpChannelPort;
using XdpReceiveWorker = RtUdp.Core.Xdp.XdpReceiveWorker;

namespace RtUdp.Core.Engine;

/// <summary>
/// One channel inside the engine: its shared file, its socket, and its workers. This is the
/// original RtUdp object: created (init_socket), started, stopped, deleted (close_socket).
/// </summary>
public sealed class EngineChannel : IDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly bool _memoryLocked;
    private AgentRunner? _sender;
    private AgentRunner? _receiver;
    private IChannelWorker? _sendWorker;
    private IChannelWorker? _receiveWorker;

    private EngineChannel(ChannelRegion region, UdpSocket socket, bool memoryLocked, XdpChannelPort? xdp)
    {
        Region = region;
        Socket = socket;
        Xdp = xdp;
        _memoryLocked = memoryLocked;
    }

    /// <summary>An xdp channel's AF_XDP socket, frame template and steering program; null on the socket path.</summary>
    public XdpChannelPort? Xdp { get; }

    public ChannelRegion Region { get; }

    public UdpSocket Socket { get; }

    public ChannelConfigBlock Config => Region.Config;

    public ChannelState State => Region.State;

    public static EngineChannel Create(string path, in ChannelConfigBlock config, bool memoryLocked, ChannelModePlan plan, EgressFacts facts)
    {
        ChannelConfig settings = config.ToConfig();
        UdpSocket socket = UdpSocket.Open(config, SocketTimestamping.FlagsFor(plan.Timestamps, settings.Sends, settings.Receives));
        ChannelRegion? region = null;
        XdpChannelPort? xdp = null;
        try
        {
            ReceiveSocketSetup receive = ReceiveSocketOptions.Apply(socket.Fd, settings);
            plan = plan with { Notes = [.. plan.Notes, .. receive.Notes] };
            region = ChannelRegion.Create(path, config);
            region.BoundLocal = socket.BoundLocal;
            ref ChannelModeBlock mode = ref region.Mode;
            mode.Timestamps = (int)plan.Timestamps;
            mode.Launch = (int)plan.Launch;
            mode.PhcIndex = plan.Timestamps == TimestampMode.Hardware || plan.Launch == LaunchClock.Phc ? facts.PhcIndex : -1;
            mode.InterfaceIndex = facts.InterfaceIndex;
            mode.TaiOffsetSeconds = facts.TaiOffsetSeconds;
            mode.Gso = (int)(plan.Gso ? GsoState.Trains : GsoState.Off);
            mode.GsoMaxSegments = plan.GsoMaxSegments;
            mode.Bulk = settings.Bulk ? 1 : 0;
            mode.Gro = receive.Gro ? 1 : 0;
            mode.ReceiveWait = (int)receive.Wait;
            mode.DataPath = (int)plan.DataPath;
            mode.XdpDeviceFeatures = (int)plan.XdpDevice;
            mode.XdpTxMetadata = (int)plan.XdpTxMetadata;
            string interfaceName = facts.Interface;
            if (plan.DataPath == DataPath.Xdp)
            {
                xdp = XdpChannelPort.Open(settings, socket.BoundLocal.ToIPEndPoint() ?? settings.Local, plan);
                interfaceName = xdp.NextHop.Link.Name;
                mode.InterfaceIndex = xdp.NextHop.Link.Ifindex;
                mode.XdpQueue = xdp.Queue;
                mode.XdpZeroCopy = xdp.Socket.ZeroCopy ? 1 : 0;
                mode.XdpAttach = (int)xdp.Attach;
                mode.SetNextHopMac(xdp.NextHop.NextHopMac.GetAddressBytes());
                if (!xdp.Socket.ZeroCopy && settings.XdpZeroCopy == XdpZeroCopy.Auto && !plan.Notes.Any(n => n.StartsWith("xdp: copy mode", StringComparison.Ordinal)))
                {
                    plan = plan with { Notes = [.. plan.Notes, $"xdp: copy mode: the driver of {interfaceName} refused zero-copy ({Native.Errno.Describe(xdp.Socket.ZeroCopyRefusedErrno)})"] };
                }
            }
            mode.SetText(interfaceName, facts.LaunchQdisc ?? facts.Qdiscs, string.Join("; ", plan.Notes));
            region.State = ChannelState.Created;
            return new EngineChannel(region, socket, memoryLocked, xdp) { Plan = plan, Facts = facts, Receive = receive };
        }
        catch
        {
            xdp?.Dispose();
            region?.Dispose();
            socket.Dispose();
            throw;
        }
    }

    public ChannelModePlan Plan { get; private init; } = new();

    public EgressFacts Facts { get; private init; } = new() { Interface = "" };

    /// <summary>What the socket was given for GRO and busy-poll.</summary>
    public ReceiveSocketSetup Receive { get; private init; } = ReceiveSocketSetup.None;

    /// <summary>Starts the workers the channel's direction needs.</summary>
    /// <param name="unpinned">Where a worker without a CPU runs (the engine's CPU plan).</param>
    /// <returns>Problems met in real-time set-up (the workers run degraded), for the log.</returns>
    public IReadOnlyList<string> Start(Cpus.UnpinnedPlacement unpinned)
    {
        if (State is not (ChannelState.Created or ChannelState.Stopped))
        {
            throw new InvalidOperationException($"Channel is {State}; only a created or stopped channel can start.");
        }
        ChannelConfig config = Config.ToConfig();
        if (config.Sends)
        {
            _sendWorker = new SendWorker(Region, Socket, _memoryLocked, unpinned, Xdp);
            _sender = new AgentRunner(_sendWorker);
        }
        if (config.Receives)
        {
            _receiveWorker = Xdp is not null
                ? new XdpReceiveWorker(Region, Xdp, Socket, _memoryLocked, unpinned)
                : new ReceiveWorker(Region, Socket, _memoryLocked, unpinned, Receive.KernelBusyPoll);
            _receiver = new AgentRunner(_receiveWorker);
        }
        Region.State = ChannelState.Running;
        _sender?.Start();
        _receiver?.Start();
        return WaitForSetup();
    }

    private List<string> WaitForSetup()
    {
        List<string> problems = [];
        long started = System.Diagnostics.Stopwatch.GetTimestamp(); // monotonic: wall-clock steps do not move the bound
        foreach ((AgentRunner? runner, bool send) in new[] { (_sender, true), (_receiver, false) })
        {
            if (runner is null)
            {
                continue;
            }
            var health = new WorkerHealth(Region, send);
            while ((WorkerState)health.Get(Contract.Channels.WorkerHealthField.State) == WorkerState.NotStarted && runner.IsRunning && System.Diagnostics.Stopwatch.GetElapsedTime(started) < StopTimeout)
            {
                Thread.Sleep(1);
            }
            if (runner.Failure is { } failure)
            {
                Stop();
                Region.State = ChannelState.Failed;
                throw new InvalidOperationException($"{runner.Agent.RoleName} failed to start: {failure.Message}", failure);
            }
            string? problem = send ? _sendWorker!.SetupProblem : _receiveWorker!.SetupProblem;
            if (problem is not null)
            {
                problems.Add($"{runner.Agent.RoleName} runs degraded: {problem}");
            }
        }
        return problems;
    }

    /// <summary>The CPU plan changed: running unpinned workers move to where unpinned workers now run.</summary>
    /// <returns>What failed, for the log.</returns>
    public IEnumerable<string> Replace(Cpus.UnpinnedPlacement unpinned)
    {
        ChannelConfig config = Config.ToConfig();
        if (State != ChannelState.Running)
        {
            yield break;
        }
        if (_sender is not null && config.SendCpu < 0 && new WorkerHealth(Region, sendWorker: true).Replace(config.Priority, _memoryLocked, unpinned) is { } sendProblem)
        {
            yield return $"send worker: {sendProblem}";
        }
        if (_receiver is not null && config.ReceiveCpu < 0 && new WorkerHealth(Region, sendWorker: false).Replace(config.Priority, _memoryLocked, unpinned) is { } receiveProblem)
        {
            yield return $"receive worker: {receiveProblem}";
        }
    }

    /// <summary>Stops the workers; what was still queued is dropped and counted.</summary>
    public void Stop()
    {
        _sender?.Stop(StopTimeout);
        _receiver?.Stop(StopTimeout);
        _sendWorker?.Dispose();
        _receiveWorker?.Dispose();
        _sender = _receiver = null;
        _sendWorker = null;
        _receiveWorker = null;
        if (State == ChannelState.Running)
        {
            Region.State = ChannelState.Stopped;
        }
    }

    /// <summary>A worker that died (its exception), if any.</summary>
    public Exception? WorkerFailure => _sender?.Failure ?? _receiver?.Failure;

    public void Dispose()
    {
        Stop();
        Region.State = ChannelState.Deleted;
        Xdp?.Dispose();
        Socket.Dispose();
        string path = Region.Path;
        Region.Dispose();
        Contract.Memory.MappedFile.Delete(path);
    }
}
