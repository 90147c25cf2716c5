using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Native;
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

    // Throughput mode: a packet's time is when the worker took it, and nothing is judged late.
    private readonly bool _bulk;
    private readonly SendLatencies _latencies;
    private readonly TxReportWriter _reports;

    /// <summary>Null when the channel's timestamps are off.</summary>
    private readonly TxStampCollector? _stamps;
    private readonly SendErrorQueue _errorQueue;
    private long _wakeNs;

    // Outcomes are tallied per packet in these fields and published once per batch: a shared
    // counter store per packet would cost more than the rest of the bookkeeping.
    private long _finished;
    private long _sent;
    private long _late;
    private long _lateInEngine;
    private long _droppedLate;
    private long _droppedError;
    private long _droppedStopped;

    public SendCompletion(ChannelRegion region, OutOfOrderConsumer consumer, int fd)
    {
        _region = region;
        _consumer = consumer;
        _tolerance = region.Config.LateToleranceNs;
        _bulk = (TimingStrategy)region.Config.Timing == TimingStrategy.Bulk;
        _latencies = new SendLatencies(region);
        _reports = new TxReportWriter(region);
        if ((TimestampMode)region.Mode.Timestamps != TimestampMode.Off)
        {
            _stamps = new TxStampCollector(region);
        }
        Network = new NetworkErrors(region, _reports);
        _errorQueue = new SendErrorQueue(region, fd, _stamps, Network);
    }

    /// <summary>Network errors: those the send calls meet, and those the error queue reports for packets sent.</summary>
    public NetworkErrors Network { get; }

    /// <summary>The latest time the worker may sleep to (see <see cref="TxStampCollector.WakeBy"/>).</summary>
    public long WakeBy(long now) => _stamps?.WakeBy(now) ?? long.MaxValue;

    /// <summary>A duty cycle ends: latencies recorded in it (stamps collected without a send too) reach the histograms.</summary>
    public void EndCycle() => _latencies.Flush();

    /// <summary>A duty cycle begins: the packets it sends were woken for at <paramref name="wakeNs"/>.</summary>
    public void BeginCycle(long wakeNs) => _wakeNs = wakeNs;

    /// <summary>Whether reports are wanted, read once per duty cycle (see <see cref="TxReportWriter.ReadRequest"/>).</summary>
    public void ReadReportRequest() => _reports.ReadRequest();

    /// <summary>Reads the error queue if it is time to (see <see cref="SendErrorQueue.Due"/>).</summary>
    public void LookAtErrorQueue(long now)
    {
        if (_errorQueue.Due(now))
        {
            DrainErrorQueue(now);
        }
    }

    private void DrainErrorQueue(long now)
    {
        var completion = new Completion(this);
        _errorQueue.Drain(now, ref completion);
    }

    /// <summary>After a transmit: the stamps of what it sent (when collected), and the reports of the errors it met.</summary>
    public void AfterTransmit()
    {
        if (_stamps is not null || _errorQueue.ErrorPending)
        {
            LookAtErrorQueue(Libc.MonotonicNow());
        }
    }

    /// <summary>A send call returned a network error: the error queue holds its report, to be read after the transmit.</summary>
    public void NetworkErrorReported() => _errorQueue.ErrorReported();

    /// <summary>
    /// A send call returned an earlier packet's network error and its packet goes again: the error queue is read
    /// first. Each ICMP error queued re-arms the socket's pending error as the one before it is read, and reading
    /// the last clears it: a burst of them (a neighbour's queue flushed as unreachable) would otherwise fail the
    /// resends one after another, and drop a packet whose own path is fine.
    /// </summary>
    public void BeforeResend() => DrainErrorQueue(Libc.MonotonicNow());

    /// <summary>The kernel took the packet at <paramref name="sentAt"/>; <paramref name="payload"/> is the datagram as it left.</summary>
    /// <param name="sameDatagram">A later packet of the GSO train the previous packet began: the train's stamps are its stamps.</param>
    public void Sent(in ScheduledPacket packet, long sentAt, long launchTime, byte* payload, int length, bool sameDatagram = false) =>
        Finish(packet, !_bulk && sentAt - packet.DueNs > _tolerance ? TxOutcome.SentLate : TxOutcome.Sent, sentAt, 0, launchTime, 0, payload, length, sameDatagram);

    /// <summary>The packet will not be sent.</summary>
    /// <param name="pathMtu">For EMSGSIZE: the path MTU in force (0: unknown).</param>
    public void Dropped(in ScheduledPacket packet, TxOutcome outcome, int errorNumber, int pathMtu = 0) =>
        Finish(packet, outcome, 0, errorNumber, 0, pathMtu, null, 0, false);

    /// <summary>
    /// An xdp channel's device stamped the <paramref name="key"/>-th frame it sent (TX metadata completion, raw PHC
    /// nanoseconds): given to the packet as the socket path's hardware stamp would be. Frames complete in order on one
    /// queue, so the n-th completion is the n-th frame, whose key the tracker gave it.
    /// </summary>
    public void DeviceTxStamp(uint key, long hardwareRawNs)
    {
        if (_stamps is null)
        {
            return;
        }
        var message = ErrQueueMessage.DeviceTxStamp(key, hardwareRawNs);
        var completion = new Completion(this);
        _stamps.BeginBatch();
        _stamps.OnStamp(message, ref completion);
    }

    /// <summary>
    /// The kernel numbered a datagram for its TX stamps (OPT_ID) and then refused it: a GSO train refused after it
    /// was built. The stamp keys of what follows are one further on.
    /// </summary>
    public void StampKeyConsumed() => _stamps?.SkipKey();

    /// <summary>
    /// Accounts for a packet leaving the schedule; a sent one is remembered for the network errors that may come
    /// back for it (with <paramref name="payload"/> as it left), then waits for its stamps (or completes now).
    /// </summary>
    private void Finish(in ScheduledPacket packet, TxOutcome outcome, long sentAt, int errorNumber, long launchTime, int pathMtu, byte* payload, int length, bool sameDatagram)
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
        if (sent)
        {
            Network.Sent(stamped.PacketId, stamped.ClientTag, packet.DueNs, sentAt, payload, length);
        }
        if (sent && _stamps is not null)
        {
            var completion = new Completion(this);
            _stamps.Track(stamped, sentAt, sameDatagram, ref completion);
        }
        else
        {
            Complete(ref stamped, missing: false, errorNumber, pathMtu);
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
                _lateInEngine += (stamped.Flags & TxReportFlags.ArrivedLate) == 0 ? 1 : 0;
                break;
            case TxOutcome.DroppedLate:
                _droppedLate++;
                _lateInEngine += (stamped.Flags & TxReportFlags.ArrivedLate) == 0 ? 1 : 0;
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
        public void OnComplete(ref StampedPacket packet, bool missing) => owner.Complete(ref packet, missing, 0, 0);
    }

    /// <summary>A packet's record is final: its latencies, and its report if anyone asked for reports.</summary>
    private void Complete(ref StampedPacket packet, bool missing, int errorNumber, int pathMtu)
    {
        StampSource source = StampSource.None;
        if ((TxOutcome)packet.Outcome is TxOutcome.Sent or TxOutcome.SentLate)
        {
            source = _latencies.Record(packet, missing);
        }
        if (_reports.Requested)
        {
            _reports.Write(packet, errorNumber, source, pathMtu);
        }
    }

    /// <summary>Publishes the outcomes tallied since the last call; false if no packet finished.</summary>
    public bool PublishCounters()
    {
        // Latencies first: a reader that sees a packet counted sent sees its samples.
        _latencies.Flush();
        if (_finished == 0)
        {
            return false;
        }
        _region.Add(ChannelCounter.Sent, _sent);
        _region.Add(ChannelCounter.Late, _late);
        if (_lateInEngine != 0)
        {
            _region.Add(ChannelCounter.LateInEngine, _lateInEngine);
        }
        _region.Add(ChannelCounter.DroppedLate, _droppedLate);
        _region.Add(ChannelCounter.DroppedError, _droppedError);
        _region.Add(ChannelCounter.DroppedStopped, _droppedStopped);
        _region.Add(ChannelCounter.Scheduled, -_finished);
        _reports.PublishCounters();
        Network.PublishCounters();
        _finished = _sent = _late = _lateInEngine = _droppedLate = _droppedError = _droppedStopped = 0;
        return true;
    }

    /// <summary>
    /// The worker is stopping: stamps of the last packets sent may still be on their way, so collect
    /// what came; the rest are missing.
    /// </summary>
    public void CollectLastStamps(long now)
    {
        var completion = new Completion(this);
        _errorQueue.Drain(now, ref completion);
        _stamps?.Flush(ref completion);
    }

    public void Dispose()
    {
        _errorQueue.Dispose();
        _stamps?.Dispose();
        Network.Dispose();
    }
}
