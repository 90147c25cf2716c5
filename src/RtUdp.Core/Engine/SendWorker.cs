using System.Runtime.CompilerServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Channels;
using RtUdp.Core.Concurrency;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Rings;
using RtUdp.Core.Stats;
using RtUdp.Core.Timestamping;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// Takes packets from a channel's TX ring and sends each at its CLOCK_MONOTONIC time: a schedule
/// ordered by (time, arrival) over records that stay in the shared ring (zero copy), a wait until
/// the next time less the margin that any new packet cuts short, a spin for the rest, and one
/// sendmmsg for all packets due together. Allocates nothing, takes no lock, logs nothing.
/// </summary>
public sealed unsafe class SendWorker : IAgent, IDisposable
{
    private const int MaxSendRetries = 1000;

    private readonly ChannelRegion _region;
    private readonly UdpSocket _socket;
    private readonly OutOfOrderConsumer _consumer;
    private readonly PacketSchedule _schedule;
    private readonly WorkerHealth _health;
    private readonly LatencyHistogram _sendError;
    private readonly LatencyHistogram _stageWake;
    private readonly LatencyHistogram _stageSendCall;
    private readonly LatencyHistogram _stageSched;
    private readonly LatencyHistogram _stageSoftware;
    private readonly LatencyHistogram _stageHardware;
    private readonly RecordRing _reports;
    private readonly EventCount _wakeup;
    private readonly ChannelConfigBlock _config;
    private readonly bool _memoryLocked;
    private readonly long _margin;
    private readonly long _tolerance;
    private readonly bool _dropLate;
    private readonly int _batchSize;

    // RT throttling takes the CPU from SCHED_FIFO threads that run more than 95% of each second: a
    // hybrid worker whose margin approaches the packet interval would spin all the time. So at
    // SCHED_FIFO spinning gets a budget per second; past it, the worker only sleeps until the window ends.
    private const long SpinWindowNs = 1_000_000_000;
    private const long FifoSpinBudgetNs = SpinWindowNs / 2;
    private readonly long _spinBudgetNs;
    private long _spinWindowStart;
    private long _spinInWindow;
    private bool _budgetSpent;

    private readonly mmsghdr* _messages;
    private readonly iovec* _vectors;
    private readonly ScheduledPacket* _batch;
    private uint _sequence;

    // Kernel TX stamps (null when the channel's timestamps are off).
    private const int StampDrainBatch = 128;
    private const long StampPollNs = 1_000_000;
    private readonly TxStampTracker? _stamps;
    private readonly ErrorQueueReader? _errorQueue;
    private long _publishedSched;
    private long _publishedSoftware;
    private long _publishedHardware;
    private long _publishedUnmatched;
    private long _wakeNs;

    // Launch time (SO_TXTIME): packets go to the kernel LaunchLeadNs ahead with their time attached.
    private readonly LaunchClock _launch;
    private readonly long _launchLead;
    private readonly byte* _launchControl;
    private readonly long* _launchTimes;
    private long _lastLaunchTime;
    private readonly long _taiMinusRealtime;

    // Sequenced flows: the header is written as a packet joins the batch, its send time just before sendmmsg.
    private readonly FlowStamper? _flows;
    private readonly byte** _flowPayloads;
    private long _publishedTooShort;

    public SendWorker(ChannelRegion region, UdpSocket socket, bool memoryLocked)
    {
        _region = region;
        _socket = socket;
        _config = region.Config;
        _memoryLocked = memoryLocked;
        _consumer = new OutOfOrderConsumer(region.TxRing);
        _schedule = new PacketSchedule(_config.Capacity);
        _health = new WorkerHealth(region, sendWorker: true);
        _sendError = region.SendErrorHistogram;
        _stageWake = region.Histogram(ChannelHistogram.StageWake);
        _stageSendCall = region.Histogram(ChannelHistogram.StageSendCall);
        _stageSched = region.Histogram(ChannelHistogram.StageSched);
        _stageSoftware = region.Histogram(ChannelHistogram.StageSoftware);
        _stageHardware = region.Histogram(ChannelHistogram.StageHardware);
        _reports = region.TxReports;
        _wakeup = region.TxRing.ConsumerWait;
        _margin = (TimingStrategy)_config.Timing switch
        {
            TimingStrategy.Sleep => 0,
            TimingStrategy.Spin => long.MaxValue / 2,
            _ => _config.SpinMarginNs,
        };
        _tolerance = _config.LateToleranceNs;
        _dropLate = (LatePolicy)_config.LatePolicy == LatePolicy.Drop;
        _batchSize = _config.BatchSize;
        _spinBudgetNs = _config.Priority > 0 ? FifoSpinBudgetNs : long.MaxValue;
        _messages = (mmsghdr*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(mmsghdr));
        _vectors = (iovec*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(iovec));
        _batch = (ScheduledPacket*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(ScheduledPacket));
        for (int i = 0; i < _batchSize; i++)
        {
            // mmsghdr.msg_hdr is a property returning a copy: write through the pointer.
            msghdr* header = (msghdr*)&_messages[i];
            header->msg_iov = &_vectors[i];
            header->msg_iovlen = 1;
        }

        ChannelModeBlock mode = region.Mode;
        if ((TimestampMode)mode.Timestamps != TimestampMode.Off)
        {
            bool awaitHardware = (TimestampMode)mode.Timestamps == TimestampMode.Hardware;
            _stamps = new TxStampTracker(Math.Clamp(_config.Capacity, 64, 65536), awaitHardware, awaitHardware ? _config.HardwareStampTimeoutNs : 10_000_000);
            _errorQueue = new ErrorQueueReader(socket.Fd, StampDrainBatch);
        }
        if (((ChannelFlags)_config.Flags).HasFlag(ChannelFlags.Sequenced))
        {
            _flows = new FlowStamper(region);
            _flowPayloads = (byte**)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(byte*));
        }
        _launch = (LaunchClock)mode.Launch;
        _launchLead = _config.LaunchLeadNs;
        _taiMinusRealtime = mode.TaiOffsetSeconds * 1_000_000_000L;
        _launchTimes = (long*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, sizeof(long));
        if (_launch != LaunchClock.None)
        {
            _launchControl = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)_batchSize, TxTimeControl.Space);
            for (int i = 0; i < _batchSize; i++)
            {
                msghdr* header = (msghdr*)&_messages[i];
                header->msg_control = _launchControl + (i * TxTimeControl.Space);
                header->msg_controllen = TxTimeControl.Space;
            }
        }
    }

    public string RoleName => $"rt-tx-{_config.Id}";

    /// <summary>A problem met during real-time set-up, for the engine to log once (never per packet).</summary>
    public string? SetupProblem { get; private set; }

    public void OnStart()
    {
        SetupProblem = _health.SetUpRealtime(_config.SendCpu, _config.Priority, _memoryLocked, (ChannelFlags)_config.Flags);
        // Our stamp keys count from 0: make the kernel's OPT_ID count from 0 too.
        SocketTimestamping.RestartIds(_socket.Fd, _socket.TimestampingFlags);
        if (_launch != LaunchClock.None)
        {
            SockTxtime.Enable(_socket.Fd, _launch == LaunchClock.Tai ? Libc.CLOCK_TAI : Libc.CLOCK_MONOTONIC, ((ChannelFlags)_config.Flags).HasFlag(ChannelFlags.LaunchDeadlineMode));
        }
        WarmUp();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Running);
    }

    /// <summary>Compiles the duty cycle's code now, so the first packet does not wait for the JIT.</summary>
    private void WarmUp()
    {
        JitWarmUp.Prepare(typeof(SendWorker));
        JitWarmUp.Prepare(typeof(ScheduleHeap));
        JitWarmUp.Prepare(typeof(PacketSchedule));
        JitWarmUp.Prepare(typeof(OutOfOrderConsumer));
        JitWarmUp.Prepare(typeof(RecordRing));
        JitWarmUp.Prepare(typeof(EventCount));
        JitWarmUp.Prepare(typeof(LatencyHistogram));
        JitWarmUp.Prepare(typeof(ChannelRegion));
        JitWarmUp.Prepare(typeof(TxStampTracker));
        JitWarmUp.Prepare(typeof(ErrorQueueReader));
        JitWarmUp.Prepare(typeof(ErrorQueue));
        JitWarmUp.Prepare(typeof(ClockSampler));
        JitWarmUp.Prepare(typeof(RealtimeStampConversion));
        JitWarmUp.Prepare(typeof(TxTimeControl));
        JitWarmUp.Prepare(typeof(FlowStamper));
        JitWarmUp.Prepare(typeof(FlowHeader));
        _ = Now();
        _ = Libc.sendmmsg(_socket.Fd, _messages, 0, MSG_DONTWAIT);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Now() => Libc.MonotonicNow();

    public void DoWork()
    {
        long now = Now();
        _wakeNs = now;
        _health.Beat(now);
        Ingest();
        if (_stamps is not null && _stamps.Outstanding > 0)
        {
            DrainStamps(now);
        }

        if (_schedule.Count == 0)
        {
            WaitForWork(Deadline(now, now + AgentRunner.MaxWaitNs));
            return;
        }

        long due = _schedule.Peek().DueNs;
        if (_launch != LaunchClock.None)
        {
            // The qdisc holds each packet until its time: hand it over a lead ahead, no spinning.
            if (now < due - _launchLead)
            {
                WaitForWork(Deadline(now, Math.Min(due - _launchLead, now + AgentRunner.MaxWaitNs)));
                return;
            }
            Dispatch(now, now + _launchLead);
            return;
        }

        long wakeAt = due - Margin(now);
        if (now < wakeAt)
        {
            WaitForWork(Deadline(now, Math.Min(wakeAt, now + AgentRunner.MaxWaitNs)));
            return;
        }

        long spinStart = now;
        bool reached = SpinUntil(due, now + AgentRunner.MaxWaitNs, ref now);
        _spinInWindow += now - spinStart;
        if (!reached)
        {
            return;
        }
        Dispatch(now, now);
    }

    /// <summary>While stamps are awaited, wake at least every millisecond to collect them and time them out.</summary>
    private long Deadline(long now, long deadline) =>
        _stamps is not null && _stamps.Outstanding > 0 ? Math.Min(deadline, now + StampPollNs) : deadline;

    /// <summary>The hybrid margin, or 0 once this second's spin budget is spent.</summary>
    private long Margin(long now)
    {
        if (now - _spinWindowStart >= SpinWindowNs)
        {
            _spinWindowStart = now;
            _spinInWindow = 0;
            _budgetSpent = false;
        }
        if (_spinInWindow < _spinBudgetNs)
        {
            return _margin;
        }
        if (!_budgetSpent)
        {
            _budgetSpent = true;
            _region.Add(ChannelCounter.SpinBudgetExhausted, 1);
        }
        return 0;
    }

    /// <returns>false if the spin was cut short and the duty cycle must start again.</returns>
    private bool SpinUntil(long due, long spinUntil, ref long now)
    {
        while (now < due)
        {
            // A packet due earlier may arrive while we spin for this one: go round again to take it.
            // A long spin (the spin strategy) also comes up for a heartbeat and a stop request.
            if ((!_schedule.IsFull && _consumer.HasUnscanned) || now > spinUntil || _stopRequested)
            {
                return false;
            }
            Thread.SpinWait(1);
            now = Now();
        }
        return true;
    }

    /// <summary>Moves newly published records from the ring into the schedule.</summary>
    private void Ingest()
    {
        int taken = 0;
        while (!_schedule.IsFull && _consumer.TryScan(out int index, out int type, out int bodyLength))
        {
            if (type != PacketRecordType.Packet || bodyLength < sizeof(TxPacketHeader))
            {
                // Not a packet: nothing to send. Release it in order with the rest.
                _consumer.MarkConsumed(index);
                continue;
            }
            TxPacketHeader* header = (TxPacketHeader*)_consumer.Ring.Body(index);
            _schedule.Push(new ScheduledPacket { DueNs = header->DueNs, Sequence = _sequence++, RecordIndex = index });
            taken++;
        }
        if (taken != 0)
        {
            _region.Add(ChannelCounter.Scanned, taken);
            _region.Add(ChannelCounter.Scheduled, taken);
        }
    }

    private void WaitForWork(long deadlineNs)
    {
        int ticket = _wakeup.PrepareWait();
        // Re-check after announcing the park (see EventCount): a producer either sees us parked or we see its record.
        if ((!_schedule.IsFull && _consumer.HasUnscanned) || _stopRequested)
        {
            _wakeup.CancelWait();
            return;
        }
        _region.Add(ChannelCounter.SendWaits, 1);
        _wakeup.Wait(ticket, deadlineNs);
    }

    private volatile bool _stopRequested;

    public void Wake()
    {
        _stopRequested = true;
        _wakeup.ForceWake();
    }

    /// <summary>Sends every packet due by <paramref name="horizon"/>, up to a batch, in one sendmmsg.</summary>
    private void Dispatch(long now, long horizon)
    {
        // CLOCK_TAI = CLOCK_REALTIME + the kernel's TAI offset: sampled once per batch, so a wall-clock step is followed.
        long launchOffset = _launch == LaunchClock.Tai ? ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2).OffsetNs + _taiMinusRealtime : 0;
        if (_flows is { NeedsRealtime: true })
        {
            _flows.BeginBatch(ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2).OffsetNs);
        }
        int count = 0;
        while (count < _batchSize && _schedule.Count > 0 && _schedule.Peek().DueNs <= horizon)
        {
            ScheduledPacket packet = _schedule.Pop();
            if (_dropLate && now - packet.DueNs > _tolerance)
            {
                Finish(packet, TxOutcome.DroppedLate, 0, 0);
                continue;
            }
            byte* body = _consumer.Ring.Body(packet.RecordIndex);
            int bodyLength = *(int*)(body - RecordDescriptor.HeaderLength) - RecordDescriptor.HeaderLength;
            _vectors[count].iov_base = body + sizeof(TxPacketHeader);
            _vectors[count].iov_len = (size_t)(bodyLength - sizeof(TxPacketHeader));
            if (_flows is not null)
            {
                byte* payload = body + sizeof(TxPacketHeader);
                _flowPayloads[count] = _flows.Stamp(payload, bodyLength - sizeof(TxPacketHeader), packet.DueNs) ? payload : null;
            }
            if (_launch != LaunchClock.None)
            {
                AttachLaunchTime(count, packet.DueNs + launchOffset);
            }
            _batch[count++] = packet;
        }

        if (count != 0)
        {
            Send(count);
            if (_stamps is not null)
            {
                DrainStamps(Now());
            }
        }
        PublishCounters();
        _consumer.Reclaim();
    }

    /// <summary>Puts the packet's time, already in the qdisc's clock, in its SCM_TXTIME control message.</summary>
    private void AttachLaunchTime(int slot, long launch)
    {
        if (launch < _lastLaunchTime)
        {
            // etf drops a packet whose time is earlier than one already queued: keep times non-decreasing.
            launch = _lastLaunchTime;
            _region.Add(ChannelCounter.LaunchReordered, 1);
        }
        _lastLaunchTime = launch;
        _launchTimes[slot] = launch;
        TxTimeControl.Write(_launchControl + (slot * TxTimeControl.Space), (ulong)launch);
    }

    private void Send(int count)
    {
        long sentAt = Now();
        int done = 0;
        int retries = 0;
        while (done < count)
        {
            if (_flows is not null)
            {
                // The first call's time is the report's SentNs; a retry after a full buffer stamps its own.
                StampSent(done, count, done == 0 && retries == 0 ? sentAt : Now());
            }
            int result = Libc.sendmmsg(_socket.Fd, _messages + done, (uint)(count - done), MSG_DONTWAIT);
            _region.Add(ChannelCounter.SendCalls, 1);
            if (result > 0)
            {
                _region.Add(ChannelCounter.SendBatchPackets, result);
                for (int i = done; i < done + result; i++)
                {
                    Finish(_batch[i], sentAt - _batch[i].DueNs > _tolerance ? TxOutcome.SentLate : TxOutcome.Sent, sentAt, 0, _launchTimes[i]);
                }
                done += result;
                continue;
            }

            int errorNumber = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            _region.ErrnoCounter(sendSide: true, errorNumber)++;
            if (errorNumber == Errno.EINTR)
            {
                continue;
            }
            if ((errorNumber == Errno.EAGAIN || errorNumber == Errno.ENOBUFS) && ++retries < MaxSendRetries)
            {
                // The socket's send buffer is full: wait (bounded) for room rather than drop.
                pollfd poll = new() { fd = _socket.Fd, events = POLLOUT };
                _ = LibC.poll(&poll, 1, 1);
                continue;
            }
            // The first unsent packet is the one the error belongs to (e.g. ECONNREFUSED after an
            // ICMP port unreachable): drop it, counted, and carry on with the rest.
            Finish(_batch[done], TxOutcome.DroppedError, 0, errorNumber);
            done++;
        }
    }

    private void StampSent(int from, int count, long sentAt)
    {
        for (int i = from; i < count; i++)
        {
            if (_flowPayloads[i] != null)
            {
                _flows!.StampSent(_flowPayloads[i], sentAt);
            }
        }
    }

    /// <summary>Accounts for a packet leaving the schedule; a sent one then waits for its stamps (or completes now).</summary>
    private void Finish(in ScheduledPacket packet, TxOutcome outcome, long sentAt, int errorNumber, long launchTime = 0)
    {
        TxPacketHeader* header = (TxPacketHeader*)_consumer.Ring.Body(packet.RecordIndex);
        StampedPacket stamped = new()
        {
            PacketId = header->PacketId,
            DueNs = packet.DueNs,
            WakeNs = _wakeNs,
            SentNs = sentAt,
            Outcome = (int)outcome,
            LaunchTimeNs = launchTime,
        };
        bool sent = outcome is TxOutcome.Sent or TxOutcome.SentLate;
        if (sent && _stamps is not null)
        {
            var completion = new Completion(this);
            _stamps.Track(stamped, sentAt, ref completion);
        }
        else
        {
            Complete(ref stamped, missing: false, errorNumber);
        }

        _consumer.MarkConsumed(packet.RecordIndex);
        _finished++;
        switch (outcome)
        {
            case TxOutcome.Sent:
                _sent++;
                break;
            case TxOutcome.SentLate:
                _sent++;
                _late++;
                break;
            case TxOutcome.DroppedLate:
                _droppedLate++;
                break;
            case TxOutcome.DroppedError:
                _droppedError++;
                break;
            default:
                _droppedStopped++;
                break;
        }
    }

    private readonly struct Completion(SendWorker worker) : IStampCompletion
    {
        public void OnComplete(ref StampedPacket packet, bool missing) => worker.Complete(ref packet, missing, 0);
    }

    /// <summary>
    /// A packet's record is final: its send error from the best stamp it got, its stage latencies,
    /// and its report.
    /// </summary>
    private void Complete(ref StampedPacket packet, bool missing, int errorNumber)
    {
        TxOutcome outcome = (TxOutcome)packet.Outcome;
        StampSource source = StampSource.None;
        if (outcome is TxOutcome.Sent or TxOutcome.SentLate)
        {
            long best;
            ChannelCounter from;
            if (packet.HardwareNs != 0)
            {
                (best, source, from) = (packet.HardwareNs, StampSource.Hardware, ChannelCounter.SendErrorFromHardware);
            }
            else if (packet.SoftwareNs != 0)
            {
                (best, source, from) = (packet.SoftwareNs, StampSource.Software, ChannelCounter.SendErrorFromSoftware);
            }
            else
            {
                (best, source, from) = (packet.SentNs, StampSource.Worker, ChannelCounter.SendErrorFromWorker);
            }
            _sendError.Record(best - packet.DueNs);
            _region.Add(from, 1);
            RecordStages(ref packet);
            if (missing)
            {
                _region.Add(ChannelCounter.TxStampsMissing, 1);
            }
        }

        int report = _reports.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(TxReport));
        if (report < 0)
        {
            _reportsLost++;
            return;
        }
        *(TxReport*)_reports.Body(report) = new TxReport
        {
            PacketId = packet.PacketId,
            DueNs = packet.DueNs,
            SentNs = packet.SentNs,
            WakeNs = packet.SentNs != 0 ? packet.WakeNs : 0,
            SchedNs = packet.SchedNs,
            SoftwareNs = packet.SoftwareNs,
            HardwareNs = packet.HardwareNs,
            HardwareRawNs = packet.HardwareRawNs,
            Outcome = packet.Outcome,
            Errno = errorNumber,
            StampSource = (int)source,
            LaunchTimeNs = packet.LaunchTimeNs,
        };
        _reports.Commit(report);
    }

    /// <summary>scheduled → wake-up → sendmmsg → SCHED → SND → hardware, each stage where both ends are known.</summary>
    private void RecordStages(ref StampedPacket packet)
    {
        _stageWake.Record(packet.WakeNs - packet.DueNs);
        _stageSendCall.Record(packet.SentNs - packet.WakeNs);
        long previous = packet.SentNs;
        if (packet.SchedNs != 0)
        {
            _stageSched.Record(packet.SchedNs - previous);
            previous = packet.SchedNs;
        }
        if (packet.SoftwareNs != 0)
        {
            _stageSoftware.Record(packet.SoftwareNs - previous);
            if (packet.HardwareNs != 0)
            {
                _stageHardware.Record(packet.HardwareNs - packet.SoftwareNs);
            }
        }
    }

    // The wall clock's offset read by the previous drain: what a stamp taken before a step of the clock is
    // converted with when the step came before this drain's read (see RealtimeStampConversion).
    private ClockOffset _drainedRealtime;

    /// <summary>Takes what the error queue holds: TX stamps, launch-time errors, other socket errors. Never blocks.</summary>
    private void DrainStamps(long now)
    {
        Span<ErrQueueMessage> messages = stackalloc ErrQueueMessage[StampDrainBatch];
        var completion = new Completion(this);
        while (true)
        {
            int count = _errorQueue!.Drain(messages);
            if (count <= 0)
            {
                break;
            }
            ClockOffset realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
            ClockOffset earlier = _drainedRealtime;
            _drainedRealtime = realtime;
            bool phcValid = _region.PhcOffset.TryRead(out ClockOffset phc);
            for (int i = 0; i < count; i++)
            {
                ref ErrQueueMessage message = ref messages[i];
                switch (message.Kind)
                {
                    case ErrQueueKind.TxTimestamp:
                        _stamps!.OnStamp(message, realtime, earlier, phc.OffsetNs, phcValid, ref completion);
                        break;
                    case ErrQueueKind.TxTimeError:
                        _region.Add(message.IsTxTimeMissed ? ChannelCounter.LaunchMissed : ChannelCounter.LaunchInvalid, 1);
                        break;
                    default:
                        _region.Add(ChannelCounter.ErrorQueueErrors, 1);
                        _region.ErrnoCounter(sendSide: true, message.Errno)++;
                        break;
                }
            }
            if (count < StampDrainBatch)
            {
                break;
            }
        }
        _stamps!.Expire(now, ref completion);
        PublishStampCounters();
    }

    private void PublishStampCounters()
    {
        TxStampTracker stamps = _stamps!;
        _region.Add(ChannelCounter.TxStampsSched, stamps.Sched - _publishedSched);
        _region.Add(ChannelCounter.TxStampsSoftware, stamps.Software - _publishedSoftware);
        _region.Add(ChannelCounter.TxStampsHardware, stamps.Hardware - _publishedHardware);
        _region.Add(ChannelCounter.TxStampsUnmatched, stamps.Unmatched - _publishedUnmatched);
        (_publishedSched, _publishedSoftware, _publishedHardware, _publishedUnmatched) = (stamps.Sched, stamps.Software, stamps.Hardware, stamps.Unmatched);
    }

    // Outcomes are tallied per packet in these fields and published once per batch: a shared
    // counter store per packet would cost more than the rest of the bookkeeping.
    private long _finished;
    private long _sent;
    private long _late;
    private long _droppedLate;
    private long _droppedError;
    private long _droppedStopped;
    private long _reportsLost;

    private void PublishCounters()
    {
        if (_finished == 0)
        {
            return;
        }
        _region.Add(ChannelCounter.Sent, _sent);
        _region.Add(ChannelCounter.Late, _late);
        _region.Add(ChannelCounter.DroppedLate, _droppedLate);
        _region.Add(ChannelCounter.DroppedError, _droppedError);
        _region.Add(ChannelCounter.DroppedStopped, _droppedStopped);
        _region.Add(ChannelCounter.Scheduled, -_finished);
        if (_flows is not null)
        {
            Volatile.Write(ref _region.Counter(ChannelCounter.FlowNextSequence), (long)_flows.Next);
        }
        if (_flows is not null && _flows.TooShort != _publishedTooShort)
        {
            _region.Add(ChannelCounter.FlowHeaderTooShort, _flows.TooShort - _publishedTooShort);
            _publishedTooShort = _flows.TooShort;
        }
        if (_reportsLost != 0)
        {
            _region.Add(ChannelCounter.TxReportsLost, _reportsLost);
            _reportsLost = 0;
        }
        _finished = _sent = _late = _droppedLate = _droppedError = _droppedStopped = 0;
    }

    /// <summary>Whatever is still queued when the worker stops is dropped and counted, never lost silently.</summary>
    public void OnClose()
    {
        RealtimeThread.Relax();
        if (_stamps is not null)
        {
            // Stamps of the last packets sent may still be on their way: collect what came, the rest are missing.
            DrainStamps(Now());
            var completion = new Completion(this);
            _stamps.Flush(ref completion);
            PublishStampCounters();
        }
        Ingest();
        while (true)
        {
            while (_schedule.Count > 0)
            {
                Finish(_schedule.Pop(), TxOutcome.DroppedStopped, 0, 0);
            }
            PublishCounters();
            _consumer.Reclaim();
            if (!_consumer.HasUnscanned)
            {
                break;
            }
            Ingest();
        }
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _schedule.Dispose();
        System.Runtime.InteropServices.NativeMemory.Free(_messages);
        System.Runtime.InteropServices.NativeMemory.Free(_vectors);
        System.Runtime.InteropServices.NativeMemory.Free(_batch);
        System.Runtime.InteropServices.NativeMemory.Free(_launchTimes);
        if (_launchControl != null)
        {
            System.Runtime.InteropServices.NativeMemory.Free(_launchControl);
        }
        _stamps?.Dispose();
        _errorQueue?.Dispose();
        if (_flowPayloads != null)
        {
            System.Runtime.InteropServices.NativeMemory.Free(_flowPayloads);
        }
    }
}
