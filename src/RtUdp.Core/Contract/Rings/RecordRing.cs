using System.Numerics;
using System.Runtime.CompilerServices;
using RtUdp.Core.Contract.Concurrency;

namespace RtUdp.Core.Contract.Rings;

/// <summary>
/// A ring of variable-length records over a block of (shared) memory, in the manner of Agrona's
/// ManyToOneRingBuffer: producers in any process claim space with a CAS on the tail, write the body,
/// then publish by storing a positive length; one consumer reads records in order and releases them.
/// Records are packed (header + body, 8-byte aligned): a 64-byte packet costs 80 bytes, not an MTU.
/// </summary>
/// <remarks>
/// Positions are 64-bit byte counts that never wrap; the index into the buffer is position &amp; mask.
/// A record never straddles the end of the buffer: a producer that would cross it first publishes a
/// padding record over the rest. The consumer zeroes what it releases, so a claimed slot reads
/// length 0 ("not yet published") until its producer writes it.
/// Memory layout: [capacity bytes of records][<see cref="RingTrailer"/>].
/// </remarks>
public readonly unsafe struct RecordRing
{
    private readonly byte* _buffer;
    private readonly byte* _trailer;
    private readonly int _capacity;
    private readonly int _mask;

    public RecordRing(byte* memory, int capacity)
    {
        if (!IsValidCapacity(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Ring capacity must be a power of two of at least 1024 bytes.");
        }
        _buffer = memory;
        _capacity = capacity;
        _mask = capacity - 1;
        _trailer = memory + capacity;
    }

    public static bool IsValidCapacity(long capacity) =>
        capacity >= 1024 && capacity <= (1L << 30) && BitOperations.IsPow2(capacity);

    /// <summary>Bytes a ring of <paramref name="capacity"/> occupies, trailer included.</summary>
    public static long TotalLength(int capacity) => (long)capacity + RingTrailer.Length;

    public int Capacity => _capacity;

    /// <summary>The largest body a single record can carry.</summary>
    public int MaxBodyLength => Math.Min(_capacity / 8, 1 << 20) - RecordDescriptor.HeaderLength;

    public byte* Buffer => _buffer;

    private ref long Tail => ref *(long*)(_trailer + RingTrailer.TailPosition);
    private ref long HeadCache => ref *(long*)(_trailer + RingTrailer.HeadCachePosition);
    private ref long Head => ref *(long*)(_trailer + RingTrailer.HeadPosition);

    /// <summary>Wakes a consumer parked waiting for records.</summary>
    public EventCount ConsumerWait => new(_trailer + RingTrailer.ConsumerWait);

    /// <summary>Bytes claimed and not yet released (a racy snapshot).</summary>
    public long OccupiedBytes => Volatile.Read(ref Tail) - Volatile.Read(ref Head);

    public long TailPositionVolatile => Volatile.Read(ref Tail);

    public long HeadPositionVolatile => Volatile.Read(ref Head);

    // ---------------------------------------------------------------- producer side

    /// <summary>
    /// Claims space for a record with a body of <paramref name="bodyLength"/> bytes. Safe from any
    /// number of threads and processes at once.
    /// </summary>
    /// <returns>The record's index (pass to <see cref="Body"/> and <see cref="Commit"/>), or -1 if the ring is full.</returns>
    public int TryClaim(int type, int bodyLength)
    {
        int recordLength = CheckedRecordLength(type, bodyLength);
        int required = RecordDescriptor.Align(recordLength);
        long head = Volatile.Read(ref HeadCache);
        long tail;
        int padding;
        int tailIndex;
        do
        {
            tail = Volatile.Read(ref Tail);
            if (!HasSpace(tail, ref head, required, out padding))
            {
                return -1;
            }
            tailIndex = (int)tail & _mask;
        }
        // CAS is a full barrier: the claim is ordered before anything we write into the slot.
        while (Interlocked.CompareExchange(ref Tail, tail + required + padding, tail) != tail);

        return WriteClaimHeaders(tailIndex, padding, type, recordLength);
    }

    /// <summary>
    /// As <see cref="TryClaim"/>, for a ring with exactly one producer thread: no CAS needed.
    /// Must never be mixed with <see cref="TryClaim"/> on the same ring.
    /// </summary>
    public int TryClaimSingleProducer(int type, int bodyLength)
    {
        int recordLength = CheckedRecordLength(type, bodyLength);
        int required = RecordDescriptor.Align(recordLength);
        long head = Volatile.Read(ref HeadCache);
        long tail = Tail; // only this thread writes it
        if (!HasSpace(tail, ref head, required, out int padding))
        {
            return -1;
        }
        int tailIndex = (int)tail & _mask;
        // Release store: the consumer never reads past a published length, so ordering the tail
        // after the claim's headers is not needed for it, only for producers' capacity checks.
        Volatile.Write(ref Tail, tail + required + padding);
        return WriteClaimHeaders(tailIndex, padding, type, recordLength);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Body(int recordIndex) => _buffer + recordIndex + RecordDescriptor.HeaderLength;

    /// <summary>Publishes a claimed record to the consumer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Commit(int recordIndex)
    {
        int* length = (int*)(_buffer + recordIndex);
        // Release store: the body written before this is visible to a consumer that reads the positive length.
        Volatile.Write(ref *length, -*length);
    }

    /// <summary>Gives up a claimed record: it becomes padding the consumer skips.</summary>
    public void Abort(int recordIndex)
    {
        *(int*)(_buffer + recordIndex + RecordDescriptor.TypeOffset) = RecordDescriptor.PaddingType;
        Commit(recordIndex);
    }

    /// <summary>Claims, copies and commits in one call.</summary>
    public bool TryWrite(int type, ReadOnlySpan<byte> body)
    {
        int index = TryClaim(type, body.Length);
        if (index < 0)
        {
            return false;
        }
        body.CopyTo(new Span<byte>(Body(index), body.Length));
        Commit(index);
        return true;
    }

    private int CheckedRecordLength(int type, int bodyLength)
    {
        if (type <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Record types must be positive.");
        }
        if ((uint)bodyLength > (uint)MaxBodyLength)
        {
            throw new ArgumentOutOfRangeException(nameof(bodyLength), bodyLength, $"A record body may hold at most {MaxBodyLength} bytes in this ring.");
        }
        return bodyLength + RecordDescriptor.HeaderLength;
    }

    private bool HasSpace(long tail, ref long head, int required, out int padding)
    {
        padding = 0;
        if (required > _capacity - (int)(tail - head))
        {
            // Acquire: the consumer zeroed the released bytes before it moved the head.
            head = Volatile.Read(ref Head);
            if (required > _capacity - (int)(tail - head))
            {
                return false;
            }
            Volatile.Write(ref HeadCache, head);
        }

        int tailIndex = (int)tail & _mask;
        int toBufferEnd = _capacity - tailIndex;
        if (required > toBufferEnd)
        {
            // The record must start at index 0: the bytes up to the end become padding, and the
            // space at the start must be free too.
            int headIndex = (int)head & _mask;
            if (required > headIndex)
            {
                head = Volatile.Read(ref Head);
                headIndex = (int)head & _mask;
                if (required > headIndex)
                {
                    return false;
                }
                Volatile.Write(ref HeadCache, head);
            }
            padding = toBufferEnd;
        }
        return true;
    }

    private int WriteClaimHeaders(int tailIndex, int padding, int type, int recordLength)
    {
        if (padding != 0)
        {
            *(int*)(_buffer + tailIndex + RecordDescriptor.TypeOffset) = RecordDescriptor.PaddingType;
            // Release store: publishes the padding record whole.
            Volatile.Write(ref *(int*)(_buffer + tailIndex), padding);
            tailIndex = 0;
        }
        *(int*)(_buffer + tailIndex + RecordDescriptor.TypeOffset) = type;
        // Negative length marks "claimed, being written"; Commit flips the sign.
        Volatile.Write(ref *(int*)(_buffer + tailIndex), -recordLength);
        return tailIndex;
    }

    // ---------------------------------------------------------------- consumer side (in order)

    /// <summary>
    /// Reads up to <paramref name="limit"/> published records in order, handing each to
    /// <paramref name="handler"/>, then releases them. Only one thread may consume a ring.
    /// </summary>
    /// <returns>The number of records handed to the handler.</returns>
    public int Read<THandler>(ref THandler handler, int limit)
        where THandler : struct, IRecordHandler =>
        ReadRecords(ref handler, limit, declinedStays: false);

    /// <summary>
    /// As <see cref="Read"/>, except that a handler returning false has NOT taken the record: it stays at the
    /// head for the next read (a consumer with nowhere to put it yet: back-pressure).
    /// </summary>
    /// <returns>The number of records taken.</returns>
    public int ReadWhileTaken<THandler>(ref THandler handler, int limit)
        where THandler : struct, IRecordHandler =>
        ReadRecords(ref handler, limit, declinedStays: true);

    /// <param name="declinedStays">false: a handler returning false took its record and stops the read; true: it did not take it.</param>
    /// <remarks>
    /// Reads in at most two stretches: to the end of the buffer, then on from its start when the first stretch
    /// ended there (a padding record, or a record that ended exactly at the end). One stretch only would return 0
    /// records for a read that met the padding, though records wait at the start: a caller asking for one packet
    /// (a receive with no wait) would wrongly see an empty ring.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadRecords<THandler>(ref THandler handler, int limit, bool declinedStays)
        where THandler : struct, IRecordHandler
    {
        int records = 0;
        for (int stretch = 0; stretch < 2 && records < limit; stretch++)
        {
            long head = Head; // only the consumer writes it
            int headIndex = (int)head & _mask;
            int contiguous = _capacity - headIndex;
            int bytesRead = 0;
            bool stopped = false;
            while (bytesRead < contiguous && records < limit)
            {
                byte* record = _buffer + headIndex + bytesRead;
                // Acquire: a positive length means the producer's body writes are visible.
                int length = Volatile.Read(ref *(int*)record);
                if (length <= 0)
                {
                    stopped = true;
                    break;
                }
                int type = *(int*)(record + RecordDescriptor.TypeOffset);
                if (type == RecordDescriptor.PaddingType)
                {
                    bytesRead += RecordDescriptor.Align(length);
                    continue;
                }
                bool taken = handler.OnRecord(type, record + RecordDescriptor.HeaderLength, length - RecordDescriptor.HeaderLength);
                if (taken || !declinedStays)
                {
                    bytesRead += RecordDescriptor.Align(length);
                    records++;
                }
                if (!taken)
                {
                    stopped = true;
                    break;
                }
            }
            if (bytesRead != 0)
            {
                Release(headIndex, head, bytesRead);
            }
            if (stopped || bytesRead < contiguous)
            {
                break;
            }
        }
        return records;
    }

    /// <summary>True if the next record at the head is published (the consumer's "is there work" check).</summary>
    public bool HasPublishedAt(long position)
    {
        int length = Volatile.Read(ref *(int*)(_buffer + ((int)position & _mask)));
        return length > 0;
    }

    /// <summary>Zeroes released bytes, then moves the head past them.</summary>
    internal void Release(int headIndex, long head, int bytes)
    {
        new Span<byte>(_buffer + headIndex, bytes).Clear();
        // Release store: producers that see the new head also see the zeroed bytes.
        Volatile.Write(ref Head, head + bytes);
    }

    internal long HeadPlain => Head;

    /// <summary>Moves the head after the caller zeroed everything before <paramref name="position"/>.</summary>
    internal void SetHead(long position) =>
        // Release store: producers that see the new head also see the zeroed bytes.
        Volatile.Write(ref Head, position);

    internal int IndexOf(long position) => (int)position & _mask;
}
