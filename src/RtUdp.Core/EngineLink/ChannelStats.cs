using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Flows;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Core.EngineLink;

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

    /// <summary>The TX accounting terms (<see cref="ChannelAccounting"/>).</summary>
    public TxBalance Tx => ChannelAccounting.Tx(counter => this[counter]);

    /// <summary>The RX accounting terms (<see cref="ChannelAccounting"/>).</summary>
    public RxBalance Rx => ChannelAccounting.Rx(counter => this[counter]);

    /// <inheritdoc cref="ChannelAccounting.Pending"/>
    public long Pending => ChannelAccounting.Pending(this[ChannelCounter.Enqueued], this[ChannelCounter.Scanned], this[ChannelCounter.Scheduled]);

    public long TxDropped => Tx.Dropped;

    /// <inheritdoc cref="ChannelAccounting.Buffered"/>
    public long Buffered => ChannelAccounting.Buffered(this[ChannelCounter.RxWritten], this[ChannelCounter.Drained]);

    public long RxDropped => Rx.Dropped;

    /// <inheritdoc cref="TxBalance"/>
    public bool TxBalanced => Tx.Balanced;

    /// <inheritdoc cref="RxBalance.ReflectedTotal"/>
    public long ReflectedTotal => Rx.ReflectedTotal;

    /// <inheritdoc cref="RxBalance"/>
    public bool RxBalanced => Rx.Balanced;
}

/// <summary>A worker's health words.</summary>
public sealed record WorkerStatus(WorkerState State, RealtimeMode Mode, long Heartbeat, long HeartbeatTimeNs, int ThreadId, int Cpu, int SetupErrno);
