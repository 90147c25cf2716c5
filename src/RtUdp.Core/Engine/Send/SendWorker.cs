using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Concurrency;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Contract.Stats;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Takes packets from a channel's TX ring and sends each at its CLOCK_MONOTONIC time, all packets due
/// together in one batch: the <see cref="SendScheduler"/> says when, the <see cref="ITransmitPath"/>
/// sends, the <see cref="SendCompletion"/> accounts for each packet. Allocates nothing, takes no lock,
/// logs nothing.
/// </summary>
public sealed unsafe class SendWorker : IChannelWorker
{
    private readonly ChannelRegion _region;
    private readonly ChannelConfigBlock _config;
    private readonly WorkerHealth _health;
    private readonly bool _memoryLocked;
    private readonly Cpus.UnpinnedPlacement _unpinned;
    private readonly long _tolerance;
    private readonly bool _dropLate;
    private readonly SendScheduler _scheduler;
    private readonly SendCompletion _completion;
    private readonly ITransmitPath _transmit;

    /// <param name="xdp">An xdp channel's AF_XDP port: its frames leave through it (null: the socket path).</param>
    public SendWorker(ChannelRegion region, UdpSocket socket, bool memoryLocked, Cpus.UnpinnedPlacement? unpinned = null, Xdp.XdpChannelPort? xdp = null)
    {
        _unpinned = unpinned ?? Cpus.UnpinnedPlacement.Inherited;
        _region = region;
        _config = region.Config;
        _memoryLocked = memoryLocked;
        _health = new WorkerHealth(region, sendWorker: true);
        _tolerance = _config.LateToleranceNs;
        _dropLate = (LatePolicy)_config.LatePolicy == LatePolicy.Drop;
        // The scheduler takes records from the ring; the completion releases them.
        var consumer = new OutOfOrderConsumer(region.TxRing);
        _scheduler = new SendScheduler(region, consumer);
        _completion = new SendCompletion(region, consumer, socket.Fd);
        // Trains when the channel's plan put them in effect (a refusal while running falls back inside the path).
        _transmit = xdp is not null ? new Xdp.XdpTransmitPath(region, xdp, _completion)
            : (GsoState)region.Mode.Gso == GsoState.Trains ? new GsoTransmitPath(region, socket, _completion)
            : new SocketTransmitPath(region, socket, _completion);
    }

    public string RoleName => $"rt-tx-{_config.Id}";

    /// <summary>A problem met during real-time set-up, for the engine to log once (never per packet).</summary>
    public string? SetupProblem { get; private set; }

    public void OnStart()
    {
        SetupProblem = _health.SetUpRealtime(_config.SendCpu, _config.Priority, _memoryLocked, (ChannelFlags)_config.Flags, _unpinned);
        _transmit.OnStart();
        WarmUp();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Running);
    }

    /// <summary>Compiles the duty cycle's code now, so the first packet does not wait for the JIT.</summary>
    private void WarmUp()
    {
        JitWarmUp.Prepare(typeof(SendWorker));
        JitWarmUp.Prepare(typeof(SendScheduler));
        JitWarmUp.Prepare(typeof(SpinBudget));
        JitWarmUp.Prepare(typeof(ScheduleHeap));
        JitWarmUp.Prepare(typeof(PacketSchedule));
        JitWarmUp.Prepare(typeof(OutOfOrderConsumer));
        JitWarmUp.Prepare(typeof(RecordRing));
        JitWarmUp.Prepare(typeof(EventCount));
        JitWarmUp.Prepare(typeof(SendCompletion));
        JitWarmUp.Prepare(typeof(SendLatencies));
        SendLatencies.WarmUp();
        JitWarmUp.Prepare(typeof(TxReportWriter));
        JitWarmUp.Prepare(typeof(LatencyHistogram));
        JitWarmUp.Prepare(typeof(ChannelRegion));
        JitWarmUp.Prepare(typeof(TxStampCollector));
        JitWarmUp.Prepare(typeof(TxStampTracker));
        JitWarmUp.Prepare(typeof(SendErrorQueue));
        JitWarmUp.Prepare(typeof(NetworkErrors));
        JitWarmUp.Prepare(typeof(SentPacketWindow));
        JitWarmUp.Prepare(typeof(ErrorQueueReader));
        JitWarmUp.Prepare(typeof(ErrorQueue));
        JitWarmUp.Prepare(typeof(ClockSampler));
        JitWarmUp.Prepare(typeof(RealtimeStampConversion));
        JitWarmUp.Prepare(typeof(SocketTransmitPath));
        JitWarmUp.Prepare(typeof(GsoTransmitPath));
        JitWarmUp.Prepare(typeof(Xdp.XdpTransmitPath));
        JitWarmUp.Prepare(typeof(Xdp.XskSocket));
        JitWarmUp.Prepare(typeof(Net.UdpFrameTemplate));
        JitWarmUp.Prepare(typeof(Net.InternetChecksum));
        JitWarmUp.Prepare(typeof(GsoTrainPlanner));
        JitWarmUp.Prepare(typeof(UdpSegmentControl));
        JitWarmUp.Prepare(typeof(MessageBatch));
        JitWarmUp.Prepare(typeof(LaunchTimes));
        JitWarmUp.Prepare(typeof(TxTimeControl));
        JitWarmUp.Prepare(typeof(FlowBatchStamper));
        JitWarmUp.Prepare(typeof(FlowStamper));
        JitWarmUp.Prepare(typeof(FlowHeader));
        _ = Libc.MonotonicNow();
        _transmit.WarmUp();
    }

    public void DoWork()
    {
        long now = Libc.MonotonicNow();
        _health.Beat(now);
        _completion.BeginCycle(now);
        Ingest(now);
        _completion.LookAtErrorQueue(now);
        if (_scheduler.WaitUntilDue(_completion.WakeBy(now), ref now, out long horizon))
        {
            Dispatch(now, horizon);
        }
        _completion.EndCycle();
    }

    /// <summary>
    /// New records into the schedule, then whether reports are wanted: in that order, so a report request
    /// made before a packet was enqueued (the ring's commit publishes it) is seen before the packet finishes.
    /// </summary>
    private void Ingest(long now)
    {
        _scheduler.Ingest(now);
        _completion.ReadReportRequest();
    }

    /// <summary>Sends every packet due by <paramref name="horizon"/>, up to a batch, in one transmit.</summary>
    private void Dispatch(long now, long horizon)
    {
        _transmit.BeginBatch();
        int count = 0;
        while (count < _transmit.BatchCapacity && _scheduler.TryTakeDue(horizon, out ScheduledPacket packet))
        {
            if (_dropLate && now - packet.DueNs > _tolerance)
            {
                _completion.Dropped(packet, TxOutcome.DroppedLate, 0);
                continue;
            }
            byte* payload = _scheduler.Payload(packet, out int length);
            _transmit.Add(packet, payload, length);
            count++;
        }

        if (count != 0)
        {
            // Whether a packet in this call left cannot be known once the engine dies inside it, before the outcomes
            // are published: the gauge lets rtudpd bound what it counts as lost (EngineLoss).
            _region.Set(ChannelCounter.TxInSendCall, count);
            _transmit.Transmit();
            _completion.AfterTransmit();
        }
        PublishCounters();
        if (count != 0)
        {
            _region.Set(ChannelCounter.TxInSendCall, 0);
        }
        _scheduler.Reclaim();
    }

    private void PublishCounters()
    {
        if (_completion.PublishCounters())
        {
            _transmit.PublishCounters();
        }
    }

    public void Wake() => _scheduler.RequestStop();

    /// <summary>Whatever is still queued when the worker stops is dropped and counted, never lost silently.</summary>
    public void OnClose()
    {
        RealtimeThread.Relax();
        _completion.ReadReportRequest();
        _completion.CollectLastStamps(Libc.MonotonicNow());
        Ingest(Libc.MonotonicNow());
        while (true)
        {
            while (_scheduler.TryTakeAny(out ScheduledPacket packet))
            {
                _completion.Dropped(packet, TxOutcome.DroppedStopped, 0);
            }
            PublishCounters();
            _scheduler.Reclaim();
            if (!_scheduler.HasUnscanned)
            {
                break;
            }
            Ingest(Libc.MonotonicNow());
        }
        _completion.EndCycle();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _scheduler.Dispose();
        _transmit.Dispose();
        _completion.Dispose();
    }
}
