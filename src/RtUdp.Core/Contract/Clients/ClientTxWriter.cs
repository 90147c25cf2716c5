namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The client's side of its TX ring (one producer). <see cref="TryWrite"/> writes records without publishing
/// them; <see cref="Publish"/> makes all of them visible at once and wakes the intake agent only if it is
/// parked, so a batch costs one release store and, at most, one syscall.
/// </summary>
public unsafe struct ClientTxWriter
{
    private readonly byte* _header;
    private readonly byte* _buffer;
    private readonly int _capacity;
    private readonly int _mask;
    private readonly int _maxPayload;
    private long _tail;
    private long _headCache;

    internal ClientTxWriter(byte* header, int capacity, int maxPayload)
    {
        _header = header;
        _buffer = header + ClientRegionLayout.TxRingOffset;
        _capacity = capacity;
        _mask = capacity - 1;
        _maxPayload = maxPayload;
        // A region attached before (the same client, or a writer recreated) continues where it stopped.
        _tail = Volatile.Read(ref TailWord);
        _headCache = Volatile.Read(ref HeadWord);
    }

    private readonly ref long TailWord => ref *(long*)(_header + ClientRegionLayout.TxTailOffset);

    private readonly ref long HeadWord => ref *(long*)(_header + ClientRegionLayout.TxHeadOffset);

    public readonly int Capacity => _capacity;

    /// <summary>Bytes written (published or not) that the engine has not yet consumed.</summary>
    public readonly long UsedBytes => _tail - Volatile.Read(ref HeadWord);

    /// <summary>True if records were written since the last <see cref="Publish"/>.</summary>
    public readonly bool HasUnpublished => _tail != Volatile.Read(ref TailWord);

    /// <summary>
    /// Writes one record after the last one, unpublished. <paramref name="flags"/> are <see cref="ClientTxFlags"/>;
    /// with <see cref="ClientTxFlags.Immediate"/> the due time is ignored.
    /// </summary>
    /// <returns>false if the ring has no room for it (nothing written).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The payload is over the channel's max payload.</exception>
    public bool TryWrite(ReadOnlySpan<byte> payload, long dueNs, long packetId, int flags)
    {
        if (payload.Length > _maxPayload)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, $"The payload is over the channel's max payload of {_maxPayload} bytes.");
        }
        int required = ClientTxRecord.RecordLength(payload.Length);
        int index = (int)_tail & _mask;
        int toEnd = _capacity - index;
        int padding = required > toEnd ? toEnd : 0;
        if (!HasSpace(required + padding))
        {
            return false;
        }
        if (padding != 0)
        {
            *(int*)(_buffer + index + ClientTxRecord.KindOffset) = ClientRecordKind.Padding;
            *(int*)(_buffer + index + ClientTxRecord.LengthOffset) = padding;
            index = 0;
        }
        byte* record = _buffer + index;
        *(int*)(record + ClientTxRecord.KindOffset) = ClientRecordKind.Packet;
        *(int*)(record + ClientTxRecord.LengthOffset) = payload.Length;
        *(long*)(record + ClientTxRecord.DueNsOffset) = dueNs;
        *(long*)(record + ClientTxRecord.PacketIdOffset) = packetId;
        *(int*)(record + ClientTxRecord.FlagsOffset) = flags;
        *(int*)(record + ClientTxRecord.ReservedOffset) = 0;
        payload.CopyTo(new Span<byte>(record + ClientTxRecord.HeaderLength, payload.Length));
        _tail += padding + required;
        return true;
    }

    /// <summary>
    /// Publishes what <see cref="TryWrite"/> wrote (release store of the tail), then wakes the intake agent
    /// if it is parked: full fence, read intake parked, and only then increment the doorbell and FUTEX_WAKE it.
    /// </summary>
    public readonly void Publish()
    {
        // Release store: the records written before are visible to an engine that reads this tail (acquire).
        Volatile.Write(ref TailWord, _tail);
        // Either the agent's re-check sees the tail, or this sees it parked and wakes it; never neither.
        ClientRegion.TxWaitOf(_header).Signal();
    }

    private bool HasSpace(int bytes)
    {
        if (_tail + bytes - _headCache <= _capacity)
        {
            return true;
        }
        _headCache = Volatile.Read(ref HeadWord);
        return _tail + bytes - _headCache <= _capacity;
    }
}
