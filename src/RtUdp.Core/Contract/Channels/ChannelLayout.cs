using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// Where each part of a channel's shared-memory file lies. Both processes compute it from the
/// config block in the header, so offsets never need to be negotiated.
/// <code>
///   header          4096   magic, version, state, bound endpoint, config block, mode in effect (at 1024),
///                          NIC clock offset (at 2048), reports requested (at 3072)
///   counters        1408   <see cref="ChannelCounter"/> slots
///   send health      128   <see cref="WorkerHealthField"/> slots, send worker
///   receive health   128   the same, receive worker
///   errno counters  2048   send-side errors [0..127], receive-side errors [128..255], by errno
///   flow table      4096   <see cref="Flows.FlowTable"/>: 16 <see cref="Flows.FlowState"/> of 256 bytes (receive worker)
///   histograms      <see cref="ChannelHistogram"/>: send error, delivery, per-stage send latencies
///   TX ring         producers: the daemon; consumer: the send worker
///   RX ring         producer: the receive worker; consumer: the daemon
///   TX report ring  producer: the send worker; consumer: the daemon (one record per packet outcome,
///                   written only while reports are requested)
/// </code>
/// Every section starts on a 4096-byte boundary.
/// </summary>
public sealed class ChannelLayout
{
    public const ulong Magic = 0x3130_4C4E_4843_5452; // "RTCHNL01"
    public const int Version = 9;

    public const int HeaderLength = 4096;
    public const int CounterSlots = 176;
    public const int ErrnoSlots = 128;
    /// <summary>
    /// The per-packet report ring (written only while someone watches outcomes): about 37,000 reports of 112
    /// bytes, 130 ms of a channel sending 280,000 packets/s, for rtudpd's pump to drain between two looks.
    /// </summary>
    public const int TxReportRingBytes = 4 << 20;

    // Header fields.
    public const int MagicOffset = 0;
    public const int VersionOffset = 8;
    public const int StateOffset = 12;
    public const int TotalLengthOffset = 16;
    public const int BoundLocalOffset = 24;
    public const int ConfigOffset = 64;
    public const int ModeOffset = 1024;

    /// <summary>Seqlock of the NIC clock's offset to CLOCK_MONOTONIC, published by the conductor, read by the workers.</summary>
    public const int PhcOffsetOffset = 2048;

    /// <summary>
    /// int32, 0 or 1: whether the daemon side reads the TX report ring. Set by it, read by the send worker
    /// once per duty cycle; on a line of its own, away from the offset the conductor rewrites.
    /// </summary>
    public const int ReportsRequestedOffset = 3072;
    public static readonly int HistogramCount = Enum.GetValues<ChannelHistogram>().Length;
    public static readonly long HistogramStride = PageAlign(LatencyHistogram.BlockSize);

    public ChannelLayout(in ChannelConfigBlock config)
    {
        TxRingCapacity = (int)config.TxRingBytes;
        RxRingCapacity = (int)config.RxRingBytes;
        long offset = HeaderLength;
        CountersOffset = offset;
        offset += CounterSlots * sizeof(long);
        SendHealthOffset = offset;
        offset += 16 * sizeof(long);
        ReceiveHealthOffset = offset;
        offset += 16 * sizeof(long);
        ErrnoCountersOffset = offset;
        offset += 2 * ErrnoSlots * sizeof(long);
        offset = PageAlign(offset);
        FlowTableOffset = offset;
        offset += Flows.FlowTable.Bytes;
        offset = PageAlign(offset);
        HistogramsOffset = offset;
        offset += HistogramCount * HistogramStride;
        TxRingOffset = offset;
        offset = PageAlign(offset + RecordRing.TotalLength(TxRingCapacity));
        RxRingOffset = offset;
        offset = PageAlign(offset + RecordRing.TotalLength(RxRingCapacity));
        TxReportRingOffset = offset;
        offset = PageAlign(offset + RecordRing.TotalLength(TxReportRingBytes));
        TotalLength = offset;
    }

    public long CountersOffset { get; }
    public long SendHealthOffset { get; }
    public long ReceiveHealthOffset { get; }
    public long ErrnoCountersOffset { get; }
    public long HistogramsOffset { get; }
    public long FlowTableOffset { get; }

    public long HistogramOffset(ChannelHistogram histogram) => HistogramsOffset + ((int)histogram * HistogramStride);
    public long TxRingOffset { get; }
    public int TxRingCapacity { get; }
    public long RxRingOffset { get; }
    public int RxRingCapacity { get; }
    public long TxReportRingOffset { get; }
    public long TotalLength { get; }

    private static long PageAlign(long offset) => (offset + 4095) & ~4095L;
}
