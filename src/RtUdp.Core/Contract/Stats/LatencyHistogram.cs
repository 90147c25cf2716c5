using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Contract.Stats;

/// <summary>
/// HdrHistogram-compatible latency histogram (values in ns, 1 ns .. 10 s, 2 significant
/// digits, &lt;= 1/128 relative bucket width) living in a caller-owned memory block, typically
/// a region of an mmapped file shared between the engine (writer) and the daemon (reader).
/// </summary>
/// <remarks>
/// <para>Block layout (little-endian, all fields naturally aligned; the block itself must be
/// 64-byte aligned so the header occupies exactly one cache line):</para>
/// <code>
/// offset  size  field
///      0     8  long TotalCount      samples recorded
///      8     8  long Sum             unchecked sum of raw (signed) values
///     16     8  long Min             exact minimum, long.MaxValue when empty
///     24     8  long Max             exact maximum, long.MinValue when empty
///     32     8  long BelowZeroCount  samples &lt; 0 (recorded in the 0 bucket)
///     40     8  long OverflowCount   samples &gt; HighestTrackableValue
///     48    16  long Reserved[2]     zero
///     64  8*N   long Counts[N]       N = CountsLength, HdrHistogram counts-array order
/// </code>
/// <para>Memory ordering: each field is written with a release store (<see cref="Volatile.Write(ref long, long)"/>),
/// first the bucket count, then the header fields, TotalCount last. A concurrent reader therefore
/// never observes a torn 64-bit value, but may observe a bucket count that is not yet reflected
/// in TotalCount/Sum/Min/Max: a snapshot is only approximately consistent. <see cref="Snapshot"/>
/// reads the header before the counts (so every sample reflected in the header is in the copied
/// counts) and recomputes the total from the counts it copied.</para>
/// <para>The struct is a pointer view; copying it does not copy the data. The block must outlive
/// every copy.</para>
/// </remarks>
public readonly unsafe struct LatencyHistogram
{
    public const long HighestTrackableValue = HistogramLayout.HighestTrackableValue;
    public const int SignificantValueDigits = HistogramLayout.SignificantValueDigits;
    public const int CountsLength = HistogramLayout.CountsLength;
    public const int HeaderSize = 64;
    public const int BlockSize = HeaderSize + (CountsLength * sizeof(long));
    public const int BlockAlignment = 64;

    [StructLayout(LayoutKind.Explicit, Size = HeaderSize)]
    private struct Header
    {
        [FieldOffset(0)] public long TotalCount;
        [FieldOffset(8)] public long Sum;
        [FieldOffset(16)] public long Min;
        [FieldOffset(24)] public long Max;
        [FieldOffset(32)] public long BelowZeroCount;
        [FieldOffset(40)] public long OverflowCount;
        [FieldOffset(48)] public long Reserved0;
        [FieldOffset(56)] public long Reserved1;
    }

    private readonly byte* _block;

    private LatencyHistogram(byte* block) => _block = block;

    /// <summary>False for <c>default(LatencyHistogram)</c>.</summary>
    public bool IsAttached => _block != null;

    private Header* H => (Header*)_block;

    private long* Counts => (long*)(_block + HeaderSize);

    /// <summary>
    /// Wraps an existing block of at least <see cref="BlockSize"/> bytes without modifying it,
    /// so a reader can attach to a block a writer already initialised. Call <see cref="Reset"/>
    /// once on a fresh block.
    /// </summary>
    public static LatencyHistogram Attach(byte* block)
    {
        ArgumentNullException.ThrowIfNull(block);
        // Alignment is a correctness requirement, not just a performance one: 64-bit atomicity
        // of plain and interlocked accesses (notably on arm64) needs natural alignment.
        if (((nuint)block & (BlockAlignment - 1)) != 0)
        {
            throw new ArgumentException($"Histogram block must be {BlockAlignment}-byte aligned.", nameof(block));
        }
        return new LatencyHistogram(block);
    }

    /// <summary>
    /// Empties the histogram. Not safe against concurrent writers; concurrent readers only see
    /// a mix of old and zeroed values.
    /// </summary>
    public void Reset()
    {
        Header* h = H;
        long* counts = Counts;
        for (int i = 0; i < CountsLength; i++)
        {
            Volatile.Write(ref counts[i], 0);
        }
        Volatile.Write(ref h->Sum, 0);
        Volatile.Write(ref h->Min, long.MaxValue);
        Volatile.Write(ref h->Max, long.MinValue);
        Volatile.Write(ref h->BelowZeroCount, 0);
        Volatile.Write(ref h->OverflowCount, 0);
        Volatile.Write(ref h->Reserved0, 0);
        Volatile.Write(ref h->Reserved1, 0);
        Volatile.Write(ref h->TotalCount, 0);
    }

    /// <summary>
    /// Records one sample. Single-writer only: must not race with another <see cref="Record(long)"/>
    /// or <see cref="RecordConcurrent"/> on the same block. Allocation-free and branch-free.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long value) => Record(value, 1);

    /// <summary>
    /// Records <paramref name="count"/> samples of one value: the same histogram as <paramref name="count"/> calls of
    /// <see cref="Record(long)"/>, for the cost of one (a run of equal samples). Single-writer only, as that.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(long value, long count)
    {
        if (count <= 0)
        {
            return;
        }
        Header* h = H;
        // Clamping and the rare counters use sign masks instead of branches (the JIT emits
        // compare-and-jump for Math.Min/Max here), so the hot path costs the same for every
        // value; the extra stores hit the header line that is dirtied anyway.
        long nonNegative = value & ~(value >> 63);
        long tooLarge = (HistogramLayout.MaxIndexableValue - nonNegative) >> 63;
        long clamped = (nonNegative & ~tooLarge) | (HistogramLayout.MaxIndexableValue & tooLarge);
        ref long slot = ref Counts[HistogramLayout.CountsIndex(clamped)];

        // clamped >= 0, so HighestTrackableValue - clamped cannot overflow.
        long belowZero = (long)((ulong)value >> 63);
        long overflow = (long)((ulong)(HistogramLayout.HighestTrackableValue - clamped) >> 63);

        Volatile.Write(ref slot, slot + count);
        Volatile.Write(ref h->BelowZeroCount, h->BelowZeroCount + (belowZero * count));
        Volatile.Write(ref h->OverflowCount, h->OverflowCount + (overflow * count));
        Volatile.Write(ref h->Sum, unchecked(h->Sum + (value * count)));
        Volatile.Write(ref h->Min, Math.Min(h->Min, value));
        Volatile.Write(ref h->Max, Math.Max(h->Max, value));
        Volatile.Write(ref h->TotalCount, h->TotalCount + count);
    }

    /// <summary>
    /// Records one sample; safe to call from any number of threads (or processes) at once.
    /// Must not be mixed with <see cref="Record(long)"/> on the same block.
    /// </summary>
    public void RecordConcurrent(long value)
    {
        Header* h = H;
        long clamped = Math.Min(Math.Max(value, 0), HistogramLayout.MaxIndexableValue);

        Interlocked.Increment(ref Counts[HistogramLayout.CountsIndex(clamped)]);
        if (value < 0)
        {
            Interlocked.Increment(ref h->BelowZeroCount);
        }
        else if (value > HistogramLayout.HighestTrackableValue)
        {
            Interlocked.Increment(ref h->OverflowCount);
        }
        Interlocked.Add(ref h->Sum, value);

        // CAS only while we would still improve the extreme; in steady state this is one load.
        long min = Volatile.Read(ref h->Min);
        while (value < min)
        {
            long seen = Interlocked.CompareExchange(ref h->Min, value, min);
            if (seen == min)
            {
                break;
            }
            min = seen;
        }
        long max = Volatile.Read(ref h->Max);
        while (value > max)
        {
            long seen = Interlocked.CompareExchange(ref h->Max, value, max);
            if (seen == max)
            {
                break;
            }
            max = seen;
        }

        Interlocked.Increment(ref h->TotalCount);
    }

    /// <summary>Copies the block into managed memory. Safe while writers are active.</summary>
    public HistogramSnapshot Snapshot()
    {
        Header* h = H;
        long sum = Volatile.Read(ref h->Sum);
        long min = Volatile.Read(ref h->Min);
        long max = Volatile.Read(ref h->Max);
        long belowZero = Volatile.Read(ref h->BelowZeroCount);
        long overflow = Volatile.Read(ref h->OverflowCount);

        // Element-wise atomic reads: a bulk memcpy may use access widths that do not guarantee
        // per-long atomicity.
        long* src = Counts;
        var counts = new long[CountsLength];
        long total = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            long c = Volatile.Read(ref src[i]);
            counts[i] = c;
            total += c;
        }
        return new HistogramSnapshot(counts, total, sum, min, max, belowZero, overflow);
    }
}
