using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Concurrency;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// When the send worker sends: a schedule ordered by (time, arrival) over records that stay in the
/// shared TX ring (zero copy), a wait until the next time less the margin that any new packet cuts
/// short, and a spin for the rest (within the <see cref="SpinBudget"/>). With launch time the qdisc
/// holds each packet until its time, so packets are due a lead ahead and there is no spinning.
/// </summary>
public sealed unsafe class SendScheduler : IDisposable
{
    private readonly ChannelRegion _region;
    private readonly OutOfOrderConsumer _consumer;
    private readonly PacketSchedule _schedule;
    private readonly EventCount _wakeup;
    private readonly SpinBudget _spinBudget;
    private readonly bool _launchTime;
    private readonly bool _bulk;
    private readonly long _launchLead;
    private readonly long _lateTolerance;
    private uint _sequence;
    private volatile bool _stopRequested;

    public SendScheduler(ChannelRegion region, OutOfOrderConsumer consumer)
    {
        _region = region;
        _lateTolerance = region.Config.LateToleranceNs;
        _consumer = consumer;
        _schedule = new PacketSchedule(region.Config.Capacity);
        _wakeup = region.TxRing.ConsumerWait;
        _spinBudget = new SpinBudget(region);
        _launchTime = (LaunchClock)region.Mode.Launch != LaunchClock.None;
        _launchLead = region.Config.LaunchLeadNs;
        _bulk = (TimingStrategy)region.Config.Timing == TimingStrategy.Bulk;
    }

    /// <summary>Packets scheduled and not yet taken.</summary>
    public int Count => _schedule.Count;

    /// <summary>Records published in the ring and not yet scheduled.</summary>
    public bool HasUnscanned => _consumer.HasUnscanned;

    /// <summary>Moves newly published records from the ring into the schedule.</summary>
    /// <param name="now">The duty cycle's clock: stamped into each packet taken, to tell a packet that arrived late.</param>
    public void Ingest(long now)
    {
        int taken = 0;
        int arrivedLate = 0;
        while (!_schedule.IsFull && _consumer.TryScan(out int index, out int type, out int bodyLength))
        {
            if (type != PacketRecordType.Packet || bodyLength < sizeof(TxPacketHeader))
            {
                // Not a packet: nothing to send. Release it in order with the rest.
                _consumer.MarkConsumed(index);
                continue;
            }
            TxPacketHeader* header = (TxPacketHeader*)_consumer.Ring.Body(index);
            // The record is the engine's until consumed: the report reads the ingest time back from it.
            header->IngestNs = now;
            if (_bulk)
            {
                // Throughput mode: sent in ring order as soon as possible; its time is when the worker took it.
                _schedule.Push(new ScheduledPacket { DueNs = now, Sequence = _sequence++, RecordIndex = index });
                taken++;
                continue;
            }
            // Judged once, here; the report reads the flag back.
            if (now - header->DueNs > _lateTolerance && (header->Flags & TxPacketFlags.Immediate) == 0)
            {
                header->Flags |= TxPacketFlags.ArrivedLate;
                arrivedLate++;
            }
            _schedule.Push(new ScheduledPacket { DueNs = header->DueNs, Sequence = _sequence++, RecordIndex = index });
            taken++;
        }
        if (taken != 0)
        {
            _region.Add(ChannelCounter.Scanned, taken);
            _region.Add(ChannelCounter.Scheduled, taken);
            if (arrivedLate != 0)
            {
                _region.Add(ChannelCounter.ArrivedLate, arrivedLate);
            }
        }
    }

    /// <summary>
    /// Waits (sleeping, then spinning) until the earliest packet is due. Returns false when the wait was
    /// cut short or ended by a deadline: the duty cycle must start again.
    /// </summary>
    /// <param name="wakeBy">Wake no later than this, whatever is scheduled (e.g. to collect TX stamps).</param>
    /// <param name="now">In: the cycle's clock reading. Out: the clock when the wait ended.</param>
    /// <param name="horizon">Every packet due by then is to go now.</param>
    public bool WaitUntilDue(long wakeBy, ref long now, out long horizon)
    {
        horizon = 0;
        if (_schedule.Count == 0)
        {
            WaitForWork(Math.Min(wakeBy, now + AgentRunner.MaxWaitNs));
            return false;
        }

        if (_bulk)
        {
            // No packet waits for a time: everything scheduled goes, a batch at a time.
            horizon = long.MaxValue;
            return true;
        }

        long due = _schedule.Peek().DueNs;
        if (_launchTime)
        {
            // The qdisc holds each packet until its time: hand it over a lead ahead, no spinning.
            if (now < due - _launchLead)
            {
                WaitForWork(Math.Min(wakeBy, Math.Min(due - _launchLead, now + AgentRunner.MaxWaitNs)));
                return false;
            }
            horizon = now + _launchLead;
            return true;
        }

        long wakeAt = due - _spinBudget.Margin(now);
        if (now < wakeAt)
        {
            WaitForWork(Math.Min(wakeBy, Math.Min(wakeAt, now + AgentRunner.MaxWaitNs)));
            return false;
        }

        long spinStart = now;
        bool reached = SpinUntil(due, now + AgentRunner.MaxWaitNs, ref now);
        _spinBudget.Spent(now - spinStart);
        horizon = now;
        return reached;
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
            now = Libc.MonotonicNow();
        }
        return true;
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

    /// <summary>Takes the earliest packet if it is due by <paramref name="horizon"/>.</summary>
    public bool TryTakeDue(long horizon, out ScheduledPacket packet)
    {
        if (_schedule.Count > 0 && _schedule.Peek().DueNs <= horizon)
        {
            packet = _schedule.Pop();
            return true;
        }
        packet = default;
        return false;
    }

    /// <summary>Takes the earliest packet, due or not (the worker is stopping).</summary>
    public bool TryTakeAny(out ScheduledPacket packet) => TryTakeDue(long.MaxValue, out packet);

    /// <summary>The packet's payload, where it lies in the TX ring.</summary>
    public byte* Payload(in ScheduledPacket packet, out int length)
    {
        byte* body = _consumer.Ring.Body(packet.RecordIndex);
        int bodyLength = *(int*)(body - RecordDescriptor.HeaderLength) - RecordDescriptor.HeaderLength;
        length = bodyLength - sizeof(TxPacketHeader);
        return body + sizeof(TxPacketHeader);
    }

    /// <summary>Gives the ring back the space of records released since the last call.</summary>
    public void Reclaim() => _consumer.Reclaim();

    /// <summary>Ends any wait or spin now; every later one ends at once too.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        _wakeup.ForceWake();
    }

    public void Dispose() => _schedule.Dispose();
}
