using RtUdp.Core.Channels;
using RtUdp.Core.Engine;
using RtUdp.Core.Flows;
using RtUdp.Core.Stats;

namespace RtUdp.Core.Client;

/// <summary>A snapshot of one channel's counters, health and histograms.</summary>
public sealed record ChannelStats
{
    public required ChannelState State { get; init; }
    public required IReadOnlyDictionary<ChannelCounter, long> Counters { get; init; }
    public required IReadOnlyDictionary<int, long> SendErrnos { get; init; }
    public required IReadOnlyDictionary<int, long> ReceiveErrnos { get; init; }
    public required WorkerStatus Sender { get; init; }
    public required WorkerStatus Receiver { get; init; }
    public required IReadOnlyDictionary<ChannelHistogram, HistogramSnapshot> Histograms { get; init; }

    /// <summary>Timestamping and launch time in effect, and why not more.</summary>
    public required ChannelModeBlock Mode { get; init; }

    /// <summary>Sequenced channel: the flows received, in the order they first arrived.</summary>
    public IReadOnlyList<FlowSnapshot> Flows { get; init; } = [];

    public HistogramSnapshot OneWay => Histograms[ChannelHistogram.OneWay];

    public HistogramSnapshot Jitter => Histograms[ChannelHistogram.Jitter];

    public HistogramSnapshot RoundTrip => Histograms[ChannelHistogram.RoundTrip];

    public HistogramSnapshot SendError => Histograms[ChannelHistogram.SendError];

    public HistogramSnapshot Delivery => Histograms[ChannelHistogram.Delivery];

    public long this[ChannelCounter counter] => Counters[counter];

    /// <summary>Packets in the TX ring not yet scheduled, plus those scheduled and not yet sent.</summary>
    public long Pending => this[ChannelCounter.Enqueued] - this[ChannelCounter.Scanned] + this[ChannelCounter.Scheduled];

    public long TxDropped => this[ChannelCounter.DroppedLate] + this[ChannelCounter.DroppedError] + this[ChannelCounter.DroppedStopped];

    /// <summary>Packets in the RX ring not yet drained.</summary>
    public long Buffered => this[ChannelCounter.RxWritten] - this[ChannelCounter.Drained];

    public long RxDropped => this[ChannelCounter.RxDroppedOverflow] + this[ChannelCounter.RxDroppedTruncated];

    /// <summary>enqueued = sent + dropped + pending.</summary>
    public bool TxBalanced => this[ChannelCounter.Enqueued] == this[ChannelCounter.Sent] + TxDropped + Pending;

    /// <summary>Reflector: datagrams sent back or that failed to be (they never enter the RX ring).</summary>
    public long ReflectedTotal => this[ChannelCounter.Reflected] + this[ChannelCounter.ReflectErrors];

    /// <summary>received = drained + dropped + reflected + buffered.</summary>
    public bool RxBalanced => this[ChannelCounter.Received] == this[ChannelCounter.Drained] + RxDropped + ReflectedTotal + Buffered;
}

/// <summary>A worker's health words.</summary>
public sealed record WorkerStatus(WorkerState State, RealtimeMode Mode, long Heartbeat, long HeartbeatTimeNs, int ThreadId, int Cpu, int SetupErrno);
