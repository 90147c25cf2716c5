using System.Runtime.CompilerServices;
using RtUdp.Core.Contract.Memory;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Contract.Stats;

namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// A channel's shared-memory file, mapped: typed access to its header, counters, health words,
/// histograms and rings. The engine creates it; the daemon opens the same file.
/// </summary>
public sealed unsafe class ChannelRegion : IDisposable
{
    private readonly MappedFile _file;
    private readonly byte* _base;

    private ChannelRegion(MappedFile file, ChannelLayout layout, ChannelConfigBlock config)
    {
        _file = file;
        _base = file.Pointer;
        Layout = layout;
        Config = config;
        TxRing = new RecordRing(_base + layout.TxRingOffset, layout.TxRingCapacity);
        RxRing = new RecordRing(_base + layout.RxRingOffset, layout.RxRingCapacity);
        TxReports = new RecordRing(_base + layout.TxReportRingOffset, ChannelLayout.TxReportRingBytes);

    }

    public string Path => _file.Path;

    public ChannelLayout Layout { get; }

    public ChannelConfigBlock Config { get; }

    public RecordRing TxRing { get; }

    public RecordRing RxRing { get; }

    public RecordRing TxReports { get; }

    /// <summary>
    /// Whether someone reads <see cref="TxReports"/>: the send worker writes a report per packet only
    /// while this is set (see <see cref="EngineLink.ChannelHandle.RequestReports"/>).
    /// </summary>
    public bool ReportsRequested
    {
        get => Volatile.Read(ref *(int*)(_base + ChannelLayout.ReportsRequestedOffset)) != 0;
        set => Volatile.Write(ref *(int*)(_base + ChannelLayout.ReportsRequestedOffset), value ? 1 : 0);
    }

    public LatencyHistogram Histogram(ChannelHistogram which) => LatencyHistogram.Attach(_base + Layout.HistogramOffset(which));

    /// <summary>Per-flow receive state of a sequenced channel.</summary>
    public Flows.FlowTable Flows => new(_base + Layout.FlowTableOffset);

    public LatencyHistogram SendErrorHistogram => Histogram(ChannelHistogram.SendError);

    public LatencyHistogram DeliveryHistogram => Histogram(ChannelHistogram.Delivery);

    /// <summary>PHC minus CLOCK_MONOTONIC for a hardware-stamping channel; never published otherwise.</summary>
    public Timestamping.SeqLockedOffset PhcOffset => new(_base + ChannelLayout.PhcOffsetOffset);

    /// <summary>What the engine put in effect when the channel started, and why not more.</summary>
    public ref ChannelModeBlock Mode => ref *(ChannelModeBlock*)(_base + ChannelLayout.ModeOffset);

    public static ChannelRegion Create(string path, in ChannelConfigBlock config)
    {
        ChannelLayout layout = new(config);
        MappedFile file = MappedFile.Create(path, layout.TotalLength, prefault: true);
        try
        {
            byte* b = file.Pointer;
            *(ChannelConfigBlock*)(b + ChannelLayout.ConfigOffset) = config;
            *(int*)(b + ChannelLayout.VersionOffset) = ChannelLayout.Version;
            *(long*)(b + ChannelLayout.TotalLengthOffset) = layout.TotalLength;
            ChannelRegion region = new(file, layout, config);
            foreach (ChannelHistogram histogram in Enum.GetValues<ChannelHistogram>())
            {
                region.Histogram(histogram).Reset();
            }
            // Release store: the magic is written last, so an opener that sees it sees the rest.
            Volatile.Write(ref *(ulong*)(b + ChannelLayout.MagicOffset), ChannelLayout.Magic);
            return region;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public static ChannelRegion Open(string path)
    {
        MappedFile file = MappedFile.Open(path);
        try
        {
            byte* b = file.Pointer;
            if (Volatile.Read(ref *(ulong*)(b + ChannelLayout.MagicOffset)) != ChannelLayout.Magic)
            {
                throw new InvalidDataException($"{path} is not an RtUdp channel file (bad magic).");
            }
            int version = *(int*)(b + ChannelLayout.VersionOffset);
            if (version != ChannelLayout.Version)
            {
                throw new InvalidDataException($"{path} has layout version {version}; this build reads {ChannelLayout.Version}.");
            }
            ChannelConfigBlock config = *(ChannelConfigBlock*)(b + ChannelLayout.ConfigOffset);
            ChannelLayout layout = new(config);
            if (layout.TotalLength != file.Length)
            {
                throw new InvalidDataException($"{path} is {file.Length} bytes; its config implies {layout.TotalLength}.");
            }
            return new ChannelRegion(file, layout, config);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ChannelState State
    {
        get => (ChannelState)Volatile.Read(ref *(int*)(_base + ChannelLayout.StateOffset));
        set => Volatile.Write(ref *(int*)(_base + ChannelLayout.StateOffset), (int)value);
    }

    /// <summary>The local endpoint the engine's socket is bound to (the kernel's port when 0 was asked).</summary>
    public EndpointBlock BoundLocal
    {
        get => *(EndpointBlock*)(_base + ChannelLayout.BoundLocalOffset);
        set => *(EndpointBlock*)(_base + ChannelLayout.BoundLocalOffset) = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long Counter(ChannelCounter counter) => ref *(long*)(_base + Layout.CountersOffset + ((int)counter * sizeof(long)));

    /// <summary>Reads a counter (acquire).</summary>
    public long Read(ChannelCounter counter) => Volatile.Read(ref Counter(counter));

    /// <summary>Single-writer increment: the counter's only writer is the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    /// <summary><see cref="Add"/> when <paramref name="delta"/> is not 0: the common case of a batch costs no store.</summary>
    public void AddIfAny(ChannelCounter counter, long delta)
    {
        if (delta != 0)
        {
            Add(counter, delta);
        }
    }

    public void Add(ChannelCounter counter, long delta)
    {
        ref long slot = ref Counter(counter);
        // Release store of a value only this thread writes: readers never see a torn value.
        Volatile.Write(ref slot, slot + delta);
    }

    /// <summary>Single-writer gauge: sets a value only the calling thread writes (release).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(ChannelCounter counter, long value) => Volatile.Write(ref Counter(counter), value);

    /// <summary>Multi-writer increment (producers in several threads or processes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddAtomic(ChannelCounter counter, long delta) => Interlocked.Add(ref Counter(counter), delta);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long ErrnoCounter(bool sendSide, int errno)
    {
        int slot = Math.Clamp(errno, 0, ChannelLayout.ErrnoSlots - 1) + (sendSide ? 0 : ChannelLayout.ErrnoSlots);
        return ref *(long*)(_base + Layout.ErrnoCountersOffset + (slot * sizeof(long)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long Health(bool sendWorker, WorkerHealthField field) =>
        ref *(long*)(_base + (sendWorker ? Layout.SendHealthOffset : Layout.ReceiveHealthOffset) + ((int)field * sizeof(long)));

    public void Dispose() => _file.Dispose();
}
