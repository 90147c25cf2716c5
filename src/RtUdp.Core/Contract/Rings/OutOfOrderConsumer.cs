using RtUdp.Core.Contract.Concurrency;

namespace RtUdp.Core.Contract.Rings;

/// <summary>
/// The consuming side of a <see cref="RecordRing"/> for a consumer that finishes records out of
/// order (the send worker sends by timestamp, not by arrival). Records are scanned in ring order,
/// used in place (zero copy: sendmmsg reads payloads straight from the shared ring), marked
/// consumed when done, and their space is released once every record before them is done too.
/// </summary>
/// <remarks>
/// A far-future packet therefore holds back the release of the space behind it; producers see the
/// ring as full until it goes. Capacity is sized for the whole schedule horizon, so this is the
/// intended back-pressure, not a leak. Single-threaded: only the owning worker calls it.
/// </remarks>
public sealed unsafe class OutOfOrderConsumer
{
    private readonly RecordRing _ring;
    private long _scan;

    public OutOfOrderConsumer(RecordRing ring)
    {
        _ring = ring;
        _scan = ring.HeadPlain;
    }

    public RecordRing Ring => _ring;

    /// <summary>Position up to which records have been handed out by <see cref="TryScan"/>.</summary>
    public long ScanPosition => _scan;

    /// <summary>True if a published record waits beyond the scan position.</summary>
    public bool HasUnscanned => !ScannedWholeRing && _ring.HasPublishedAt(_scan);

    /// <summary>
    /// True when every byte of the ring has been scanned and none reclaimed: the scan position has
    /// lapped onto the head, whose record is published but already handed out.
    /// </summary>
    private bool ScannedWholeRing => _scan - _ring.HeadPlain >= _ring.Capacity;

    public EventCount ConsumerWait => _ring.ConsumerWait;

    /// <summary>Hands out the next published record after the scan position, skipping padding.</summary>
    public bool TryScan(out int recordIndex, out int type, out int bodyLength)
    {
        while (true)
        {
            int index = _ring.IndexOf(_scan);
            byte* record = _ring.Buffer + index;
            // Acquire: a positive length means the producer's body writes are visible.
            int length = Volatile.Read(ref *(int*)record);
            if (length <= 0 || ScannedWholeRing)
            {
                recordIndex = type = bodyLength = 0;
                return false;
            }
            _scan += RecordDescriptor.Align(length);
            int recordType = *(int*)(record + RecordDescriptor.TypeOffset);
            if (recordType == RecordDescriptor.PaddingType)
            {
                continue;
            }
            recordIndex = index;
            type = recordType;
            bodyLength = length - RecordDescriptor.HeaderLength;
            return true;
        }
    }

    /// <summary>Marks a scanned record done. Its space is reclaimed by <see cref="Reclaim"/>.</summary>
    public void MarkConsumed(int recordIndex) =>
        // Plain store: only this thread reads the type of a scanned record again.
        *(int*)(_ring.Buffer + recordIndex + RecordDescriptor.TypeOffset) = RecordDescriptor.ConsumedType;

    /// <summary>Releases the run of consumed (or padding) records at the head.</summary>
    /// <returns>Bytes released.</returns>
    public long Reclaim()
    {
        long start = _ring.HeadPlain;
        long head = start;
        while (head < _scan)
        {
            int index = _ring.IndexOf(head);
            byte* record = _ring.Buffer + index;
            int type = *(int*)(record + RecordDescriptor.TypeOffset);
            if (type != RecordDescriptor.ConsumedType && type != RecordDescriptor.PaddingType)
            {
                break;
            }
            int aligned = RecordDescriptor.Align(*(int*)record);
            // Zero before the head moves past it (inside Release the head store is a release).
            new Span<byte>(record, aligned).Clear();
            head += aligned;
        }
        if (head != start)
        {
            _ring.SetHead(head);
        }
        return head - start;
    }
}
