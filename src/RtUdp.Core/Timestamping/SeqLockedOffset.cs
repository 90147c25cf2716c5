using System.Runtime.CompilerServices;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// A sequence lock over 32 bytes of (possibly cross-process shared) memory holding one
/// <see cref="ClockOffset"/>: [0] sequence, [8] OffsetNs, [16] UncertaintyNs, [24] SampledAtMonotonicNs,
/// all int64. Exactly one writer (the conductor) publishes; any number of real-time readers read
/// without locks, allocation or writes to the shared line. A plain handle over the pointer: copies
/// share the memory; the memory must outlive every copy.
/// </summary>
/// <remarks>
/// Protocol and barriers (.NET <see cref="Volatile"/> gives acquire loads and release stores, which
/// is all a seqlock needs; on x86 they compile to plain moves, on arm64 to ldar/stlr):
/// <list type="bullet">
/// <item>Writer: store seq+1 (odd, "in progress"); store the three fields; store seq+2 (even). Every
/// store is a release store, so each is ordered after everything before it: no field store can become
/// visible before the odd sequence, and the even sequence cannot become visible before the fields.</item>
/// <item>Reader: load seq (acquire); give up this attempt if odd; load the three fields (acquire, so
/// none can be satisfied before the first seq load and the final seq load cannot be satisfied before
/// them); load seq again. Equal and even means no write overlapped the field loads, so the tuple is
/// one the writer published. Otherwise retry.</item>
/// </list>
/// Fields are aligned 64-bit values, so each load is atomic on 64-bit targets; the sequence check only
/// has to rule out mixing fields from different publishes. A writer that dies mid-publish leaves the
/// sequence odd: <see cref="TryRead"/> is bounded and then returns false, so a reader cannot hang.
/// </remarks>
public readonly unsafe struct SeqLockedOffset
{
    /// <summary>Bytes of shared memory used.</summary>
    public const int Size = 32;

    /// <summary>Default bound on read attempts; a publish is four stores, so collisions resolve in a few.</summary>
    public const int DefaultMaxAttempts = 1024;

    private readonly long* _words;

    /// <param name="memory">At least <see cref="Size"/> bytes, 8-byte aligned, zeroed before first use.</param>
    public SeqLockedOffset(void* memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (((nuint)memory & 7) != 0)
        {
            throw new ArgumentException("The seqlock must be 8-byte aligned.", nameof(memory));
        }

        _words = (long*)memory;
    }

    /// <summary>The sequence: even when stable, odd while a publish is in progress; 0 = never published.</summary>
    public long Sequence => Volatile.Read(ref _words[0]);

    /// <summary>How many publishes have completed.</summary>
    public long Version => Volatile.Read(ref _words[0]) >> 1;

    /// <summary>Publishes a new offset. Single writer only: concurrent writers corrupt the protocol.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Publish(in ClockOffset offset)
    {
        // Only this writer modifies the sequence, so a plain read of our own last store is exact.
        long sequence = _words[0];
        Volatile.Write(ref _words[0], sequence + 1);
        Volatile.Write(ref _words[1], offset.OffsetNs);
        Volatile.Write(ref _words[2], offset.UncertaintyNs);
        Volatile.Write(ref _words[3], offset.SampledAtMonotonicNs);
        Volatile.Write(ref _words[0], sequence + 2);
    }

    /// <summary>Reads a consistent offset.</summary>
    /// <returns>False when nothing has been published yet or no attempt within
    /// <paramref name="maxAttempts"/> got a consistent snapshot (writer stuck mid-publish).</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryRead(out ClockOffset offset, int maxAttempts = DefaultMaxAttempts)
    {
        for (int attempt = 0; attempt < maxAttempts; attempt++)
        {
            long before = Volatile.Read(ref _words[0]);
            if ((before & 1) != 0)
            {
                Thread.SpinWait(1);
                continue;
            }

            long offsetNs = Volatile.Read(ref _words[1]);
            long uncertaintyNs = Volatile.Read(ref _words[2]);
            long sampledAt = Volatile.Read(ref _words[3]);
            if (Volatile.Read(ref _words[0]) == before)
            {
                offset = new ClockOffset(offsetNs, uncertaintyNs, sampledAt);
                return before != 0;
            }
        }

        offset = default;
        return false;
    }
}
