using System.Runtime.CompilerServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Channels;
using RtUdp.Core.Concurrency;
using RtUdp.Core.Native;
using RtUdp.Core.Rings;
using RtUdp.Core.Stats;
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
    }

    public string RoleName => $"rt-tx-{_config.Id}";

    /// <summary>A problem met during real-time set-up, for the engine to log once (never per packet).</summary>
    public string? SetupProblem { get; private set; }

    public void OnStart()
    {
        SetupProblem = _health.SetUpRealtime(_config.SendCpu, _config.Priority, _memoryLocked, (ChannelFlags)_config.Flags);
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
        _ = Now();
        _ = Libc.sendmmsg(_socket.Fd, _messages, 0, MSG_DONTWAIT);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Now() => Libc.MonotonicNow();

    public void DoWork()
    {
        long now = Now();
        _health.Beat(now);
        Ingest();

        if (_schedule.Count == 0)
        {
            WaitForWork(now + AgentRunner.MaxWaitNs);
            return;
        }

        long due = _schedule.Peek().DueNs;
        long wakeAt = due - Margin(now);
        if (now < wakeAt)
        {
            WaitForWork(Math.Min(wakeAt, now + AgentRunner.MaxWaitNs));
            return;
        }

        long spinStart = now;
        bool reached = SpinUntil(due, now + AgentRunner.MaxWaitNs, ref now);
        _spinInWindow += now - spinStart;
        if (!reached)
        {
            return;
        }
        Dispatch(now);
    }

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
        if ((!_schedule.IsFull && _consumer.HasUnscanned) || !Running)
        {
            _wakeup.CancelWait();
            return;
        }
        _region.Add(ChannelCounter.SendWaits, 1);
        _wakeup.Wait(ticket, deadlineNs);
    }

    private volatile bool _stopRequested;

    private bool Running => !_stopRequested;

    public void Wake()
    {
        _stopRequested = true;
        _wakeup.ForceWake();
    }

    /// <summary>Sends every packet due by <paramref name="now"/>, up to a batch, in one sendmmsg.</summary>
    private void Dispatch(long now)
    {
        int count = 0;
        while (count < _batchSize && _schedule.Count > 0 && _schedule.Peek().DueNs <= now)
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
            _batch[count++] = packet;
        }

        if (count != 0)
        {
            Send(count);
        }
        PublishCounters();
        _consumer.Reclaim();
    }

    private void Send(int count)
    {
        long sentAt = Now();
        int done = 0;
        int retries = 0;
        while (done < count)
        {
            int result = Libc.sendmmsg(_socket.Fd, _messages + done, (uint)(count - done), MSG_DONTWAIT);
            _region.Add(ChannelCounter.SendCalls, 1);
            if (result > 0)
            {
                _region.Add(ChannelCounter.SendBatchPackets, result);
                for (int i = done; i < done + result; i++)
                {
                    long error = sentAt - _batch[i].DueNs;
                    _sendError.Record(error);
                    Finish(_batch[i], error > _tolerance ? TxOutcome.SentLate : TxOutcome.Sent, sentAt, 0);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Finish(in ScheduledPacket packet, TxOutcome outcome, long sentAt, int errorNumber)
    {
        TxPacketHeader* header = (TxPacketHeader*)_consumer.Ring.Body(packet.RecordIndex);
        int report = _reports.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(TxReport));
        if (report >= 0)
        {
            *(TxReport*)_reports.Body(report) = new TxReport
            {
                PacketId = header->PacketId,
                DueNs = packet.DueNs,
                SentNs = sentAt,
                Outcome = (int)outcome,
                Errno = errorNumber,
            };
            _reports.Commit(report);
        }
        else
        {
            _reportsLost++;
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
    }
}
