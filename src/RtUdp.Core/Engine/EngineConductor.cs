using System.Net.Sockets;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Engine;

/// <summary>
/// The engine's control agent: executes commands from the command ring (create, start, stop,
/// delete channel), answers on the response ring, and publishes engine health. It is the only
/// engine thread that allocates, and only while executing a command.
/// </summary>
public sealed unsafe partial class EngineConductor : IAgent, IDisposable
{
    private readonly EngineOptions _options;
    private readonly EngineControlFile _control;
    private readonly RecordRing _commands;
    private readonly RecordRing _responses;
    private readonly Dictionary<uint, EngineChannel> _channels = [];
    private readonly Dictionary<int, Timestamping.PhcClock> _phcs = [];
    private readonly NicTimestamping _nics;
    private bool _phcFailureLogged;
    private readonly Action<string> _log;
    private readonly bool _memoryLocked;
    private readonly Cpus.CpuPlan _cpus;
    private volatile bool _stopRequested;
    private readonly Clients.ClientIntakeAgent? _intake;
    private readonly Clients.DescriptorInbox? _inbox;

    /// <param name="cpus">The CPU plan, over the CPUs the engine may use (already published: rtudpd reads it as soon as the control file is there).</param>
    /// <param name="intake">The same-host clients' intake agent (null: AttachClient is refused).</param>
    /// <param name="inbox">engine.sock, where client regions' memfds arrive.</param>
    public EngineConductor(EngineOptions options, EngineControlFile control, bool memoryLocked, Action<string> log, Cpus.CpuPlan cpus,
        Clients.ClientIntakeAgent? intake = null, Clients.DescriptorInbox? inbox = null)
    {
        _intake = intake;
        _inbox = inbox;
        _options = options;
        _control = control;
        _memoryLocked = memoryLocked;
        _log = log;
        _nics = new NicTimestamping(log);
        _commands = control.Commands;
        _responses = control.Responses;
        _cpus = cpus;
    }

    public string RoleName => "rt-conductor";

    public void OnStart()
    {
    }

    public void DoWork()
    {
        long now = Libc.MonotonicNow();
        PublishHealth(now);
        PublishPhcOffsets();
        var handler = new Handler(this);
        if (_commands.Read(ref handler, 16) > 0)
        {
            return;
        }
        CheckWorkers();
        var wait = _commands.ConsumerWait;
        int ticket = wait.PrepareWait();
        if (_commands.HasPublishedAt(_commands.HeadPositionVolatile) || _stopRequested)
        {
            wait.CancelWait();
            return;
        }
        wait.Wait(ticket, now + AgentRunner.MaxWaitNs);
    }

    private void PublishHealth(long now)
    {
        _control.Beat(now);
        _control.PublishMemory(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalAllocatedBytes(false));
        _control.ChannelCount = _channels.Count;
    }

    private void CheckWorkers()
    {
        foreach (EngineChannel channel in _channels.Values)
        {
            if (channel.State == ChannelState.Running && channel.WorkerFailure is { } failure)
            {
                _log($"channel {channel.Config.Id}: a worker failed, channel marked failed: {failure.Message}");
                channel.Stop();
                channel.Region.State = ChannelState.Failed;
            }
        }
    }

    private struct Handler(EngineConductor conductor) : IRecordHandler
    {
        public readonly bool OnRecord(int type, byte* body, int length)
        {
            conductor.Execute((EngineCommand)type, body, length);
            return true;
        }
    }

    private void Execute(EngineCommand command, byte* body, int length)
    {
        ResponseBody response = default;
        if (length < sizeof(CommandBody) - sizeof(ChannelConfigBlock))
        {
            response.Status = (int)EngineStatus.InvalidArgument;
            response.SetText(null, $"Command record of {length} bytes is too short.", null);
            Respond(ref response);
            return;
        }
        CommandBody* request = (CommandBody*)body;
        response.CorrelationId = request->CorrelationId;
        response.ChannelId = request->ChannelId;
        try
        {
            switch (command)
            {
                case EngineCommand.CreateChannel when length >= sizeof(CommandBody):
                    Create(request->Config, ref response);
                    break;
                case EngineCommand.StartChannel:
                    StartChannel(Find(request->ChannelId), ref response);
                    break;
                case EngineCommand.StopChannel:
                    Find(request->ChannelId).Stop();
                    _log($"channel {request->ChannelId}: stopped");
                    PublishCpuPlan();
                    break;
                case EngineCommand.AttachClient when length >= sizeof(ClientCommandBody):
                    AttachClient(*(ClientCommandBody*)body);
                    break;
                case EngineCommand.DetachClient when length >= sizeof(ClientCommandBody):
                    DetachClient(*(ClientCommandBody*)body, ref response);
                    break;
                case EngineCommand.DeleteChannel:
                    EngineChannel channel = Find(request->ChannelId);
                    // Before the channel's memory goes: the intake agent holds pointers into it.
                    DetachClientsOf(request->ChannelId, "the channel was deleted");
                    _channels.Remove(request->ChannelId);
                    Delete(channel);
                    if (_cpus.Release(request->ChannelId))
                    {
                        Replan();
                    }
                    PublishCpuPlan();
                    break;
                case EngineCommand.Ping:
                    break;
                default:
                    throw new EngineCommandException(EngineStatus.InvalidArgument, $"Unknown command {(int)command} ({length} bytes).");
            }
            if (_channels.TryGetValue(request->ChannelId, out EngineChannel? current))
            {
                response.ChannelState = (int)current.State;
                response.BoundLocal = current.Region.BoundLocal;
            }
        }
        catch (EngineCommandException e)
        {
            response.Status = (int)e.Status;
            response.SetText(null, e.Message, e.Field);
        }
        catch (NativeCallException e)
        {
            response.Status = (int)StatusFor(e.Errno);
            response.Errno = e.Errno;
            response.SetText(null, e.Message, null);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or SocketException or ArgumentException)
        {
            response.Status = (int)(e is InvalidOperationException ? EngineStatus.FailedPrecondition : EngineStatus.Internal);
            response.Errno = e is IOException io ? io.HResult : 0;
            response.SetText(null, e.Message, null);
        }
        if (response.Status != (int)EngineStatus.Ok)
        {
            _log($"command {command} on channel {request->ChannelId} failed: {response.GetMessage()}");
        }
        Respond(ref response);
    }

    private static EngineStatus StatusFor(int errno) => errno switch
    {
        Errno.EPERM or 13 /* EACCES */ => EngineStatus.PermissionDenied,
        98 /* EADDRINUSE */ => EngineStatus.AlreadyExists,
        99 /* EADDRNOTAVAIL */ or Errno.EINVAL or 97 /* EAFNOSUPPORT */ => EngineStatus.InvalidArgument,
        12 /* ENOMEM */ or 24 /* EMFILE */ or 23 /* ENFILE */ or Errno.ENOBUFS or 28 /* ENOSPC */ => EngineStatus.ResourceExhausted,
        _ => EngineStatus.Internal,
    };

    private EngineChannel Find(uint id) =>
        _channels.TryGetValue(id, out EngineChannel? channel)
            ? channel
            : throw new EngineCommandException(EngineStatus.NotFound, $"Channel {id} does not exist.");

    /// <summary>
    /// The channel's file is prefaulted (and, with mlockall, kept in RAM): one larger than the memory the host
    /// or the engine's memory cgroup has left is refused, naming what to lower, rather than left to the OOM killer.
    /// </summary>
    private void CheckMemory(in ChannelConfigBlock block)
    {
        var layout = new ChannelLayout(block);
        if (Capabilities.HostMemory.OfCurrentProcess() is not { } memory || layout.TotalLength <= memory.AvailableBytes)
        {
            return;
        }
        string locked = _memoryLocked ? ", kept in RAM (the engine locks its memory)" : ", prefaulted";
        throw new EngineCommandException(EngineStatus.ResourceExhausted,
            $"capacity: the channel needs {layout.TotalLength >> 20} MiB of shared memory (TX ring {layout.TxRingCapacity >> 20} MiB, RX ring {layout.RxRingCapacity >> 20} MiB, "
            + $"reports {ChannelLayout.TxReportRingBytes >> 20} MiB){locked}, and {memory.AvailableBytes >> 20} MiB are available ({memory.Source}): "
            + "lower capacity, max_payload or tx_ring_bytes/rx_ring_bytes", "capacity");
    }

    private void Create(in ChannelConfigBlock block, ref ResponseBody response)
    {
        ChannelConfig config = block.ToConfig();
        if (config.Validate() is { } problem)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"{problem.Field}: {problem.Message}", problem.Field);
        }
        if (_channels.ContainsKey(block.Id))
        {
            throw new EngineCommandException(EngineStatus.AlreadyExists, $"Channel {block.Id} already exists.");
        }
        CheckMemory(block);
        bool claimed;
        try
        {
            claimed = _cpus.Claim(block.Id, config.Name, config.SendCpu, config.ReceiveCpu, config.Sends, config.Receives, config.Flags.HasFlag(ChannelFlags.ShareCpu));
        }
        catch (Cpus.CpuOwnedException e)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, e.Message, e.Field);
        }
        try
        {
            CreateClaimed(block, config, ref response);
        }
        catch
        {
            _cpus.Release(block.Id);
            throw;
        }
        if (claimed)
        {
            Replan();
        }
        PublishCpuPlan();
    }

    private void CreateClaimed(in ChannelConfigBlock block, ChannelConfig config, ref ResponseBody response)
    {
        string path = Path.Combine(_options.Directory, $"channel-{block.Id}.shm");
        EgressFacts facts = EgressProbe.Probe(config);
        if (_options.AssumeLaunchQdisc is { } assumed && facts.LaunchQdisc is null)
        {
            facts = facts with { LaunchQdisc = assumed, Qdiscs = $"{facts.Qdiscs} ({assumed} assumed for testing)" };
        }
        ChannelModePlan plan = config.Xdp ? Xdp.XdpModePlan.Decide(config, facts, facts.XdpDevice) : ChannelModePlan.Decide(config, facts);
        if (plan.Launch != LaunchClock.None && _options.AssumeLaunchQdisc is { } pretend && facts.Qdiscs.Contains("assumed", StringComparison.Ordinal))
        {
            plan = plan with { Notes = [.. plan.Notes, $"launch_time: {pretend} assumed for testing (--assume-launch-qdisc); without the real qdisc the kernel ignores SO_TXTIME and sends at once"] };
        }
        if (plan.Timestamps == TimestampMode.Hardware)
        {
            plan = AcquireHardware(config, facts, plan);
        }
        if (plan.Launch == LaunchClock.Phc && plan.Timestamps != TimestampMode.Hardware)
        {
            plan = OpenLaunchClock(config, facts, plan);
        }
        EngineChannel channel;
        try
        {
            channel = EngineChannel.Create(path, block, _memoryLocked, plan, facts);
        }
        catch
        {
            ReleaseHardware(plan, facts);
            throw;
        }
        _channels.Add(block.Id, channel);
        response.SetText(path, null, null);
        _log($"channel {block.Id} ({config.Name}): created, {config.Direction}, bound {channel.Region.BoundLocal}, remote {config.Remote?.ToString() ?? "any"}, "
            + $"egress {facts.Interface}, timestamps {plan.Timestamps}, launch time {plan.Launch}, file {path} ({channel.Region.Layout.TotalLength >> 10} KiB)");
        foreach (string note in channel.Plan.Notes)
        {
            _log($"channel {block.Id}: {note}");
        }
    }

    /// <summary>Leases the NIC's hardware stamping and opens its clock; in auto mode a failure falls back to software.</summary>
    private ChannelModePlan AcquireHardware(ChannelConfig config, EgressFacts facts, ChannelModePlan plan)
    {
        try
        {
            _nics.Acquire(facts.Interface);
            try
            {
                PhcFor(facts.PhcIndex);
            }
            catch
            {
                _nics.Release(facts.Interface);
                throw;
            }
            return plan;
        }
        catch (Exception e) when (config.Timestamps == TimestampMode.Auto && e is EngineCommandException or NativeCallException)
        {
            return plan with { Timestamps = TimestampMode.Software, ConfigureNic = false, Notes = [.. plan.Notes, $"timestamps: software, not hardware: {e.Message}"] };
        }
        catch (NativeCallException e)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"timestamps: {e.Message}", "timestamps");
        }
    }

    /// <summary>
    /// An xdp channel launching frames at PHC times without hardware stamps still needs the PHC's offset to
    /// CLOCK_MONOTONIC: opened here, published with the others. Auto falls back to user-space timing if it cannot be.
    /// </summary>
    private ChannelModePlan OpenLaunchClock(ChannelConfig config, EgressFacts facts, ChannelModePlan plan)
    {
        try
        {
            PhcFor(facts.PhcIndex);
            return plan;
        }
        catch (NativeCallException e) when (config.LaunchTime == LaunchTimeMode.Auto)
        {
            return plan with
            {
                Launch = LaunchClock.None,
                XdpTxMetadata = plan.XdpTxMetadata & ~XdpTxMetadataBits.LaunchTime,
                Notes = [.. plan.Notes, $"launch_time: user-space timing ({config.Timing}), not launch time: the NIC's clock /dev/ptp{facts.PhcIndex} could not be opened: {e.Message}"],
            };
        }
        catch (NativeCallException e)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"launch_time: the NIC's clock /dev/ptp{facts.PhcIndex} could not be opened: {e.Message}", "launch_time");
        }
    }

    private void ReleaseHardware(ChannelModePlan plan, EgressFacts facts)
    {
        if (plan.Timestamps == TimestampMode.Hardware)
        {
            _nics.Release(facts.Interface);
        }
    }

    private Timestamping.PhcClock PhcFor(int index)
    {
        if (!_phcs.TryGetValue(index, out Timestamping.PhcClock? clock))
        {
            clock = Timestamping.PhcClock.Open(index);
            _phcs.Add(index, clock);
        }
        return clock;
    }

    /// <summary>Measures each NIC clock in use and publishes its offset to the channels stamping with it.</summary>
    private void PublishPhcOffsets()
    {
        foreach (EngineChannel channel in _channels.Values)
        {
            bool usesPhc = channel.Plan.Timestamps == TimestampMode.Hardware || channel.Plan.Launch == LaunchClock.Phc;
            if (!usesPhc || !_phcs.TryGetValue(channel.Facts.PhcIndex, out Timestamping.PhcClock? clock))
            {
                continue;
            }
            try
            {
                channel.Region.PhcOffset.Publish(clock.Measure());
            }
            catch (NativeCallException e)
            {
                if (!_phcFailureLogged)
                {
                    _phcFailureLogged = true;
                    _log($"reading {clock.Path} failed: {e.Message}; hardware stamps fall back to software until it recovers");
                }
            }
        }
    }

    private void StartChannel(EngineChannel channel, ref ResponseBody response)
    {
        try
        {
            foreach (string problem in channel.Start(_cpus.Unpinned))
            {
                _log($"channel {channel.Config.Id}: {problem}");
            }
        }
        finally
        {
            PublishCpuPlan();
        }
        response.SetText(channel.Region.Path, null, null);
        _log($"channel {channel.Config.Id}: started");
    }

    /// <summary>The owned CPUs changed: running unpinned workers move to where unpinned workers now run.</summary>
    private void Replan()
    {
        Cpus.UnpinnedPlacement placement = _cpus.Unpinned;
        foreach (EngineChannel channel in _channels.Values)
        {
            foreach (string problem in channel.Replace(placement))
            {
                _log($"channel {channel.Config.Id}: moving an unpinned worker failed: {problem}");
            }
        }
    }

    /// <summary>Leaves the plan, with where each running worker is, for rtudpd (cpu-plan.json).</summary>
    private void PublishCpuPlan()
    {
        try
        {
            var workers = new List<Cpus.PlannedWorker>();
            foreach (EngineChannel channel in _channels.Values.OrderBy(c => c.Config.Id))
            {
                if (channel.State != ChannelState.Running)
                {
                    continue;
                }
                ChannelConfig config = channel.Config.ToConfig();
                foreach ((bool runs, bool send, int cpu) in new[] { (config.Sends, true, config.SendCpu), (config.Receives, false, config.ReceiveCpu) })
                {
                    if (!runs)
                    {
                        continue;
                    }
                    var health = new WorkerHealth(channel.Region, send);
                    int tid = (int)health.Get(WorkerHealthField.ThreadId);
                    var mode = (RealtimeMode)health.Get(WorkerHealthField.RealtimeMode);
                    IReadOnlyList<int> where = tid > 0 ? AffinityOf(tid) : [];
                    string scheduling = (mode & RealtimeMode.Fifo) != 0 ? $"SCHED_FIFO {config.Priority}" : "SCHED_OTHER";
                    string kind = send ? (config.Bulk ? "bulk" : "timed") : (config.ReceiveStrategy == ReceiveStrategy.BusyPoll ? "busy-poll" : "poll");
                    workers.Add(new Cpus.PlannedWorker(config.Name, config.Id, send ? "send" : "receive", tid, cpu >= 0, where, scheduling, mode.ToString(), kind));
                }
            }
            _cpus.Report(AffinityOf(Libc.gettid()), workers).WriteTo(_options.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log($"writing {Cpus.CpuPlanReport.FileName} failed: {e.Message}");
        }
    }

    private static IReadOnlyList<int> AffinityOf(int tid)
    {
        try
        {
            return Capabilities.HostCpus.Affinity(tid);
        }
        catch (NativeCallException)
        {
            return []; // the thread has just exited
        }
    }

    private void Respond(ref ResponseBody response)
    {
        int index = _responses.TryClaimSingleProducer(1, sizeof(ResponseBody));
        if (index < 0)
        {
            // The daemon reads every response it waits for; a full ring means nobody is reading.
            _log($"response ring full; response to command {response.CorrelationId} lost");
            return;
        }
        *(ResponseBody*)_responses.Body(index) = response;
        _responses.Commit(index);
        _responses.ConsumerWait.Signal();
    }

    public void Wake()
    {
        _stopRequested = true;
        _commands.ConsumerWait.ForceWake();
    }

    public void OnClose()
    {
    }

    /// <summary>Stops and deletes every channel (engine shutdown).</summary>
    public void Dispose()
    {
        foreach (EngineChannel channel in _channels.Values)
        {
            DetachClientsOf(channel.Config.Id, "the engine stopped");
            Delete(channel);
            _cpus.Release(channel.Config.Id);
        }
        _channels.Clear();
        foreach (Timestamping.PhcClock clock in _phcs.Values)
        {
            clock.Dispose();
        }
        _phcs.Clear();
        _nics.Dispose();
    }

    /// <summary>Stops the channel, logs its final accounting (the file goes with it), and removes it.</summary>
    private void Delete(EngineChannel channel)
    {
        channel.Stop();
        ChannelRegion r = channel.Region;
        TxBalance tx = ChannelAccounting.Tx(r);
        RxBalance rx = ChannelAccounting.Rx(r);
        _log($"channel {channel.Config.Id}: deleted; tx enqueued {tx.Enqueued} = sent {tx.Sent} (late {r.Read(ChannelCounter.Late)})"
            + $" + dropped late {tx.DroppedLate} + dropped error {tx.DroppedError}"
            + $" + dropped stopped {tx.DroppedStopped} + pending {tx.Pending}, rejected full {r.Read(ChannelCounter.RejectedFull)};"
            + $" rx received {rx.Received} = drained {rx.Drained}"
            + $" + dropped overflow {rx.DroppedOverflow} + dropped truncated {rx.DroppedTruncated}"
            + (channel.Config.ToConfig().Reflects ? $" + reflected {rx.Reflected} + reflect errors {rx.ReflectErrors}" : "")
            + $" + buffered {rx.Buffered},"
            + $" dropped by the kernel before read {r.Read(ChannelCounter.RxDroppedKernel)}");
        channel.Dispose();
        ReleaseHardware(channel.Plan, channel.Facts);
    }
}
