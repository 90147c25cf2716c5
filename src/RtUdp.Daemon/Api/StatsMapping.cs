using Google.Protobuf;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Stats;
using RtUdp.V1;
using CoreCounter = RtUdp.Core.Contract.Channels.ChannelCounter;
using CoreHistogram = RtUdp.Core.Contract.Channels.ChannelHistogram;
using CoreStats = RtUdp.Core.EngineLink.ChannelStats;
using CoreWorker = RtUdp.Core.EngineLink.WorkerStatus;

namespace RtUdp.Daemon.Api;

/// <summary>Counters, worker health and histograms onto rtudp.v1 messages.</summary>
internal static class StatsMapping
{
    public static readonly double[] DefaultPercentiles = [50, 90, 99, 99.9, 99.99, 100];

    private static readonly Dictionary<CoreCounter, string> CounterNames =
        Enum.GetValues<CoreCounter>().ToDictionary(c => c, c => SnakeCase.FromPascal(c.ToString()));

    public static string CounterName(CoreCounter counter) => CounterNames.TryGetValue(counter, out string? name) ? name : SnakeCase.FromPascal(counter.ToString());

    public static V1.ChannelStats ToProto(ChannelEntry entry, Core.EngineLink.ChannelHandle handle, bool engineAlive)
    {
        CoreStats s = handle.ReadStats();
        var stats = new V1.ChannelStats
        {
            Channel = entry.Name,
            State = engineAlive ? ChannelMapping.ToProto(s.State) : V1.ChannelState.Lost,
            ReadMonotonicNs = Libc.MonotonicNow(),
            Tx = new TxAccounting
            {
                Enqueued = s[CoreCounter.Enqueued],
                Sent = s[CoreCounter.Sent],
                DroppedLate = s[CoreCounter.DroppedLate],
                DroppedError = s[CoreCounter.DroppedError],
                DroppedStopped = s[CoreCounter.DroppedStopped],
                Pending = s.Pending,
                Late = s[CoreCounter.Late],
                ArrivedLate = s[CoreCounter.ArrivedLate],
                LateInEngine = s[CoreCounter.LateInEngine],
                RejectedFull = s[CoreCounter.RejectedFull],
                Balanced = s.TxBalanced,
            },
            Rx = new RxAccounting
            {
                Received = s[CoreCounter.Received],
                Drained = s[CoreCounter.Drained],
                DroppedOverflow = s[CoreCounter.RxDroppedOverflow],
                DroppedTruncated = s[CoreCounter.RxDroppedTruncated],
                Buffered = s.Buffered,
                Balanced = s.RxBalanced,
                Reflected = s[CoreCounter.Reflected],
                ReflectErrors = s[CoreCounter.ReflectErrors],
                DroppedKernel = s[CoreCounter.RxDroppedKernel],
            },
            Sender = ToProto(s.Sender),
            Receiver = ToProto(s.Receiver),
            SendErrorCount = s.SendError.TotalCount,
            SendErrorMaxNs = s.SendError.TotalCount == 0 ? 0 : s.SendError.Max,
            DeliveryCount = s.Delivery.TotalCount,
            DeliveryMaxNs = s.Delivery.TotalCount == 0 ? 0 : s.Delivery.Max,
            FlowTotals = new FlowAccounting
            {
                Packets = s[CoreCounter.FlowPackets],
                BadHeader = s[CoreCounter.FlowBadHeader],
                Untracked = s[CoreCounter.FlowUntracked],
                ClockUnsynced = s[CoreCounter.FlowClockUnsynced],
                Unique = s.Flows.Sum(f => f.Unique),
                Lost = s.Flows.Sum(f => f.Lost),
                Duplicates = s.Flows.Sum(f => f.Duplicates),
                Reordered = s.Flows.Sum(f => f.Reordered),
                Stale = s.Flows.Sum(f => f.Stale),
                HeaderTooShort = s[CoreCounter.FlowHeaderTooShort],
            },
            OneWayCount = s.OneWay.TotalCount,
            JitterCount = s.Jitter.TotalCount,
            RoundTripCount = s.RoundTrip.TotalCount,
            TxNetwork = new TxNetworkErrors
            {
                Refused = s[CoreCounter.NetworkRefused],
                HostUnreachable = s[CoreCounter.NetworkHostUnreachable],
                NetUnreachable = s[CoreCounter.NetworkNetUnreachable],
                HostDown = s[CoreCounter.NetworkHostDown],
                TooBig = s[CoreCounter.NetworkTooBig],
                Other = s[CoreCounter.NetworkOther],
                Exact = s[CoreCounter.NetworkErrorsExact],
                ByOrder = s[CoreCounter.NetworkErrorsByOrder],
                Unattributed = s[CoreCounter.NetworkErrorsUnattributed],
                Resent = s[CoreCounter.ResentAfterNetworkError],
                DroppedAfterResends = s[CoreCounter.DroppedAfterResends],
                DroppedTooBig = s[CoreCounter.DroppedTooBig],
                PathMtu = (int)s[CoreCounter.PathMtu],
            },
        };
        foreach (Core.Flows.FlowSnapshot f in s.Flows)
        {
            stats.Flows.Add(ToProto(f));
        }
        foreach ((CoreCounter counter, long value) in s.Counters)
        {
            stats.Counters[CounterName(counter)] = value;
        }
        // Kept by the daemon, not the engine: packets refused by the per-client limits (never enqueued, outside the sum).
        stats.Counters["rejected_quota"] = entry.RejectedQuota;
        foreach ((int errno, long count) in s.SendErrnos)
        {
            stats.SendErrnos[errno] = count;
        }
        foreach ((int errno, long count) in s.ReceiveErrnos)
        {
            stats.ReceiveErrnos[errno] = count;
        }
        return stats;
    }

    private static FlowStats ToProto(Core.Flows.FlowSnapshot f) => new()
    {
        FlowId = f.FlowId,
        FirstSequence = f.FirstSequence,
        HighestSequence = f.HighestSequence,
        Received = f.Received,
        Unique = f.Unique,
        Expected = f.Expected,
        Lost = f.Lost,
        Duplicates = f.Duplicates,
        Reordered = f.Reordered,
        Stale = f.Stale,
        JitterNs = f.JitterNs,
        LastLatencyNs = f.LastLatencyNs,
        LatencyKind = (FlowLatencyKind)((int)f.LatencyKind + 1),
        ClockDomain = (int)f.Clock,
    };

    private static WorkerHealth ToProto(CoreWorker w) => new()
    {
        State = (WorkerState)((int)w.State + 1),
        RealtimeMode = w.Mode.ToString(),
        Heartbeat = w.Heartbeat,
        HeartbeatMonotonicNs = w.HeartbeatTimeNs,
        ThreadId = w.ThreadId,
        Cpu = w.Cpu,
        SetupErrno = w.SetupErrno,
    };

    public static Histogram ToProto(HistogramKind kind, HistogramSnapshot h, IReadOnlyList<double> percentiles)
    {
        bool empty = h.TotalCount == 0;
        var histogram = new Histogram
        {
            Kind = kind,
            TotalCount = h.TotalCount,
            MinNs = empty ? 0 : h.Min,
            MaxNs = empty ? 0 : h.Max,
            MeanNs = h.Mean,
            SumNs = h.Sum,
            BelowZeroCount = h.BelowZeroCount,
            OverflowCount = h.OverflowCount,
            HdrHistogramBase64 = Convert.ToBase64String(HdrHistogramEncoding.EncodeV2Compressed(h)),
            HdrHistogramV2 = ByteString.CopyFrom(HdrHistogramEncoding.EncodeV2(h)),
        };
        foreach (double p in percentiles)
        {
            histogram.Percentiles.Add(new Percentile { Percentile_ = p, ValueNs = h.ValueAtPercentile(p) });
        }
        foreach ((long low, long high, long count) in h.NonEmptyBuckets())
        {
            histogram.Buckets.Add(new HistogramBucket { LowNs = low, HighNs = high, Count = count });
        }
        return histogram;
    }

    public static CoreHistogram? ToCore(HistogramKind kind) => kind switch
    {
        HistogramKind.Unspecified => CoreHistogram.SendError,
        _ when Enum.IsDefined((CoreHistogram)((int)kind - 1)) => (CoreHistogram)((int)kind - 1),
        _ => null,
    };
}
