namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The client's side of its RX ring (one consumer), and its sleep on the RX doorbell: <see cref="PrepareWait"/>,
/// re-check with <see cref="TryRead"/>, then <see cref="Wait"/> (or <see cref="CancelWait"/>), as with
/// Concurrency.EventCount but on the region's own words.
/// </summary>
public unsafe struct ClientRxReader
{
    private readonly byte* _header;
    private readonly byte* _buffer;
    private readonly int _capacity;
    private readonly int _mask;
    private long _head;
    private long _tail;

    internal ClientRxReader(byte* header, byte* buffer, int capacity)
    {
        _header = header;
        _buffer = buffer;
        _capacity = capacity;
        _mask = capacity - 1;
        _head = Volatile.Read(ref HeadWord);
        _tail = _head;
    }

    private readonly ref long HeadWord => ref *(long*)(_header + ClientRegionLayout.RxHeadOffset);

    /// <summary>Bytes the engine published that this reader has not consumed.</summary>
    public readonly long UsedBytes => Volatile.Read(ref *(long*)(_header + ClientRegionLayout.RxTailOffset)) - _head;

    /// <summary>
    /// Takes the next packet into <paramref name="buffer"/>.
    /// </summary>
    /// <returns>
    /// true with its <paramref name="length"/> and <paramref name="info"/>; false with length 0 when nothing is
    /// there; false with length &gt; buffer.Length (and <paramref name="info"/> filled) when the buffer is too
    /// small: the packet stays for a larger buffer.
    /// </returns>
    /// <exception cref="ClientRegionException">The ring does not frame (status <see cref="ShmStatus.Faulted"/>).</exception>
    public bool TryRead(Span<byte> buffer, out RxRecordInfo info, out int length)
    {
        info = default;
        length = 0;
        while (true)
        {
            if (_head == _tail)
            {
                // Acquire: records before the tail are visible.
                long tail = Volatile.Read(ref *(long*)(_header + ClientRegionLayout.RxTailOffset));
                if (tail == _head)
                {
                    return false;
                }
                if ((tail & 7) != 0 || tail < _head || tail - _head > _capacity)
                {
                    throw Corrupt($"RX tail {tail} impossible for head {_head}");
                }
                _tail = tail;
            }
            int index = (int)_head & _mask;
            int toEnd = _capacity - index;
            long available = _tail - _head;
            byte* r = _buffer + index;
            int kind = *(int*)(r + ClientRxRecord.KindOffset);
            if (kind == ClientRecordKind.Padding)
            {
                if (available < toEnd)
                {
                    throw Corrupt("RX padding past the tail");
                }
                _head += toEnd;
                Volatile.Write(ref HeadWord, _head);
                continue;
            }
            if (kind != ClientRecordKind.Packet || toEnd < ClientRxRecord.HeaderLength || available < ClientRxRecord.HeaderLength)
            {
                throw Corrupt($"RX record kind {kind} at {_head} does not frame");
            }
            int payloadLength = *(int*)(r + ClientRxRecord.LengthOffset);
            long recordLength = ((long)ClientRxRecord.HeaderLength + payloadLength + 7) & ~7L;
            if (payloadLength < 0 || recordLength > toEnd || recordLength > available)
            {
                throw Corrupt($"RX record of {payloadLength} bytes at {_head} does not fit");
            }
            info.Length = payloadLength;
            info.KernelRealtimeNs = *(long*)(r + ClientRxRecord.KernelRealtimeNsOffset);
            info.HardwareRawNs = *(long*)(r + ClientRxRecord.HardwareRawNsOffset);
            info.BestMonotonicNs = *(long*)(r + ClientRxRecord.BestMonotonicNsOffset);
            info.WorkerMonotonicNs = *(long*)(r + ClientRxRecord.WorkerMonotonicNsOffset);
            info.StampSource = *(int*)(r + ClientRxRecord.StampSourceOffset);
            info.Flags = *(int*)(r + ClientRxRecord.FlagsOffset);
            for (int i = 0; i < 16; i++)
            {
                info.SourceAddress[i] = r[ClientRxRecord.SourceAddressOffset + i];
            }
            info.SourcePort = *(ushort*)(r + ClientRxRecord.SourcePortOffset);
            info.SourceFamily = *(ushort*)(r + ClientRxRecord.SourceFamilyOffset);
            info.Sequence = *(long*)(r + ClientRxRecord.SequenceOffset);
            length = payloadLength;
            if (payloadLength > buffer.Length)
            {
                return false;
            }
            new ReadOnlySpan<byte>(r + ClientRxRecord.HeaderLength, payloadLength).CopyTo(buffer);
            _head += recordLength;
            // Release store: the engine may reuse the space only after the copy above.
            Volatile.Write(ref HeadWord, _head);
            return true;
        }
    }

    /// <summary>Step 1 of a sleep: the ticket for <see cref="Wait"/>; then re-check with <see cref="TryRead"/>.</summary>
    public readonly int PrepareWait() => ClientRegion.RxWaitOf(_header).PrepareWait();

    /// <summary>Step 2: sleeps until the engine rings or the absolute CLOCK_MONOTONIC deadline (negative: never).</summary>
    /// <returns>true if woken (or the doorbell moved), false on timeout.</returns>
    public readonly bool Wait(int ticket, long deadlineMonotonicNs) => ClientRegion.RxWaitOf(_header).Wait(ticket, deadlineMonotonicNs);

    public readonly void CancelWait() => ClientRegion.RxWaitOf(_header).CancelWait();

    private static ClientRegionException Corrupt(string what) =>
        new(ShmStatus.Faulted, $"The client's RX ring is corrupt: {what}.");
}
