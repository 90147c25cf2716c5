using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// What becomes of each packet that leaves the schedule: its outcome counted, its record released to
/// the TX ring, and, once its kernel stamps are in (or will never come), its latencies recorded and its
/// report written if reports are requested.
/// </summary>
public sealed unsafe class SendCompletion : IDisposable
{
    private readonly ChannelRegion _region;
    private readonly OutOfOrderConsumer _consumer;
    private readonly long _tolerance;
    private readonly SendLatencies _latencies;
    private readonly TxReportWriter _reports;

    /// <summary>Null when the channel's timestamps are off.</summary>
    private readonly TxStampCollector? _stamps;
    private long _wakeNs;

    // Outcomes are tallied per packet in these fields and published once per batch: a shared
    // counter store per packet would cost more than the rest of the bookkeeping.
    private long _finished;
    private long _sent;
    private long _late;
    private long _droppedLate;
    private long _droppedError;
    private long _droppedStopped;

    public SendCompletion(ChannelRegion region, OutOfOrderConsumer consumer, int fd)
    {
        _region = region;
        _consumer = consumer;
        _tolerance = region.Config.LateToleranceNs;
        _latencies = new SendLatencies(region);
        _reports = new TxReportWriter(region);
        if ((TimestampMode)region.Mode.Timestamps != TimestampMode.Off)
        {
            _stamps = new TxStampCollector(region, fd);
        }
    }

    /// <summary>Whether the channel collects kernel TX stamps.</summary>
    public bool CollectsStamps => _stamps is not null;

    /// <summary>The latest time the worker may sleep to (see <see cref="TxStampCollector.WakeBy"/>).</summary>
    public long WakeBy(long now) => _stamps?.WakeBy(now) ?? long.MaxValue;

    /// <summary>A duty cycle begins: the packets it sends were woken for at <paramref name="wakeNs"/>.</summary>
    public void BeginCycle(long wakeNs) => _wakeNs = wakeNs;

    /// <summary>Whether reports are wanted, read once per duty cycle (see <see cref="TxReportWriter.ReadRequest"/>).</summary>
    public void ReadReportRequest() => _reports.ReadRequest();

    /// <summary>Collects the stamps that came in since the last call, if any are awaited.</summary>
    public void CollectAwaitedStamps(long now)
    {
        if (_stamps is not null && _stamps.Awaiting)
        {
            CollectStamps(now);
        }
    }

    /// <summary>Collects whatever the error queue holds (only when the channel collects stamps).</summary>
    public void CollectStamps(long now)
    {
        var completion = new Completion(this);
        _stamps!.Drain(now, ref completion);
    }

    /// <summary>The kernel took the packet at <paramref name="sentAt"/>.</summary>
    public void Sent(in ScheduledPacket packet, long sentAt, long launchTime) =>
        Finish(packet, sentAt - packet.DueNs > _tolerance ? TxOutcome.SentLate : TxOutcome.Sent, sentAt, 0, launchTime);

    /// <summary>The packet will not be sent.</summary>
    public void Dropped(in ScheduledPacket packet, TxOutcome outcome, int errorNumber) =>
        Finish(packet, outcome, 0, errorNumber, 0);

    /// <summary>Accounts for a packet leaving the schedule; a sent one then waits for its stamps (or completes now).</summary>
    private void Finish(in ScheduledPacket packet, TxOutcome outcome, long sentAt, int errorNumber, long launchTime)
    {
        TxPacketHeader* header = (TxPacketHeader*)_consumer.Ring.Body(packet.RecordIndex);
        StampedPacket stamped = new()
        {
            PacketId = header->PacketId,
            ClientTag = header->ClientTag,
            IngestNs = header->IngestNs,
            Flags = (header->Flags & TxPacketFlags.ArrivedLate) != 0 ? TxReportFlags.ArrivedLate : 0,
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

    private readonly struct Completion(SendCompletion owner) : IStampCompletion
    {
        public void OnComplete(ref StampedPacket packet, bool missing) => owner.Complete(ref packet, missing, 0);
    }

    /// <summary>A packet's record is final: its latencies, and its report if anyone asked for reports.</summary>
    private void Complete(ref StampedPacket packet, bool missing, int errorNumber)
    {
        StampSource source = StampSource.None;
        if ((TxOutcome)packet.Outcome is TxOutcome.Sent or TxOutcome.SentLate)
        {
            source = _latencies.Record(packet, missing);
        }
        if (_reports.Requested)
        {
            _reports.Write(packet, errorNumber, source);
        }
    }

    /// <summary>Publishes the outcomes tallied since the last call; false if no packet finished.</summary>
    public bool PublishCounters()
    {
        if (_finished == 0)
        {
            return false;
        }
        _region.Add(ChannelCounter.Sent, _sent);
        _region.Add(ChannelCounter.Late, _late);
        _region.Add(ChannelCounter.DroppedLate, _droppedLate);
        _region.Add(ChannelCounter.DroppedError, _droppedError);
        _region.Add(ChannelCounter.DroppedStopped, _droppedStopped);
        _region.Add(ChannelCounter.Scheduled, -_finished);
        _reports.PublishCounters();
        _finished = _sent = _late = _droppedLate = _droppedError = _droppedStopped = 0;
        return true;
    }

    /// <summary>
    /// The worker is stopping: stamps of the last packets sent may still be on their way, so collect
    /// what came; the rest are missing.
    /// </summary>
    public void CollectLastStamps(long now)
    {
        if (_stamps is null)
        {
            return;
        }
        var completion = new Completion(this);
        _stamps.Drain(now, ref completion);
        _stamps.Flush(ref completion);
    }

    public void Dispose() => _stamps?.Dispose();
}
