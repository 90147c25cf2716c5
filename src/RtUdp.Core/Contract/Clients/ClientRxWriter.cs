using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Contract.Clients;

/// <summary>What became of an RX record the engine offered a client's ring.</summary>
public enum ClientRxWriteResult
{
    Written = 0,

    /// <summary>No room: the record stays where it came from (back-pressure).</summary>
    Full = 1,

    /// <summary>The client's head is impossible: fault the client.</summary>
    Faulted = 2,
}

/// <summary>
/// The engine's side of a client's RX ring (one producer). Its tail is private; the client's head is read
/// with acquire and must lie in [tail - capacity, tail], or the client is faulted.
/// </summary>
public unsafe struct ClientRxWriter
{
    private readonly byte* _header;
    private readonly byte* _buffer;
    private readonly int _capacity;
    private readonly int _mask;
    private long _tail;
    private long _published;
    private long _headCache;
    private bool _faulted;

    internal ClientRxWriter(byte* header, byte* buffer, int capacity)
    {
        _header = header;
        _buffer = buffer;
        _capacity = capacity;
        _mask = capacity - 1;
        // Read back once, at attach: where an earlier engine stopped (0 in a new region).
        _tail = Volatile.Read(ref *(long*)(header + ClientRegionLayout.RxTailOffset));
        _published = _tail;
        _faulted = (_tail & 7) != 0 || _tail < 0;
        _headCache = _tail - capacity;
    }

    public readonly bool IsFaulted => _faulted;

    /// <summary>Bytes written (the private tail).</summary>
    public readonly long Tail => _tail;

    /// <summary>Writes one record, unpublished (<see cref="Publish"/> after a batch).</summary>
    public ClientRxWriteResult TryWrite(in RxPacketHeader header, ReadOnlySpan<byte> payload)
    {
        if (_faulted)
        {
            return ClientRxWriteResult.Faulted;
        }
        int required = ClientRxRecord.RecordLength(payload.Length);
        int index = (int)_tail & _mask;
        int toEnd = _capacity - index;
        int padding = required > toEnd ? toEnd : 0;
        if (required > _capacity)
        {
            return ClientRxWriteResult.Full;
        }
        if (_tail + padding + required - _headCache > _capacity)
        {
            if (!RefreshHead())
            {
                return ClientRxWriteResult.Faulted;
            }
            if (_tail + padding + required - _headCache > _capacity)
            {
                return ClientRxWriteResult.Full;
            }
        }
        if (padding != 0)
        {
            *(int*)(_buffer + index + ClientRxRecord.KindOffset) = ClientRecordKind.Padding;
            *(int*)(_buffer + index + ClientRxRecord.LengthOffset) = padding;
            index = 0;
        }
        byte* r = _buffer + index;
        *(int*)(r + ClientRxRecord.KindOffset) = ClientRecordKind.Packet;
        *(int*)(r + ClientRxRecord.LengthOffset) = payload.Length;
        *(long*)(r + ClientRxRecord.KernelRealtimeNsOffset) = header.KernelRealtimeNs;
        *(long*)(r + ClientRxRecord.HardwareRawNsOffset) = header.HardwareRawNs;
        *(long*)(r + ClientRxRecord.BestMonotonicNsOffset) = header.BestMonotonicNs;
        *(long*)(r + ClientRxRecord.WorkerMonotonicNsOffset) = header.WorkerMonotonicNs;
        *(int*)(r + ClientRxRecord.StampSourceOffset) = header.StampSource;
        *(int*)(r + ClientRxRecord.FlagsOffset) = header.Flags;
        WriteSource(r, header.Source);
        *(int*)(r + ClientRxRecord.ReservedOffset) = 0;
        *(long*)(r + ClientRxRecord.SequenceOffset) = header.Sequence;
        payload.CopyTo(new Span<byte>(r + ClientRxRecord.HeaderLength, payload.Length));
        _tail += padding + required;
        return ClientRxWriteResult.Written;
    }

    /// <summary>Publishes the records written (release store), then wakes the client if it sleeps in receive.</summary>
    public void Publish()
    {
        if (_tail == _published)
        {
            return;
        }
        Volatile.Write(ref *(long*)(_header + ClientRegionLayout.RxTailOffset), _tail);
        _published = _tail;
        ClientRegion.RxWaitOf(_header).Signal();
    }

    /// <summary>
    /// Packet records between the client's head and the tail: what the client never read (at detach). The
    /// client may have scribbled there; the walk is bounded and stops at anything that does not frame.
    /// </summary>
    public readonly long CountUnread()
    {
        long head = Volatile.Read(ref *(long*)(_header + ClientRegionLayout.RxHeadOffset));
        if (head < _tail - _capacity || head > _tail || (head & 7) != 0)
        {
            head = _tail - _capacity < 0 ? 0 : _tail - _capacity;
        }
        long count = 0;
        while (head < _tail)
        {
            int index = (int)head & _mask;
            int toEnd = _capacity - index;
            byte* r = _buffer + index;
            int kind = *(int*)(r + ClientRxRecord.KindOffset);
            if (kind == ClientRecordKind.Padding)
            {
                head += toEnd;
                continue;
            }
            int length = *(int*)(r + ClientRxRecord.LengthOffset);
            if (kind != ClientRecordKind.Packet || length < 0 || toEnd < ClientRxRecord.HeaderLength)
            {
                break;
            }
            long recordLength = ((long)ClientRxRecord.HeaderLength + length + 7) & ~7L;
            if (recordLength > toEnd)
            {
                break;
            }
            count++;
            head += recordLength;
        }
        return count;
    }

    private bool RefreshHead()
    {
        // Acquire: the client read the records before it moved its head past them.
        long head = Volatile.Read(ref *(long*)(_header + ClientRegionLayout.RxHeadOffset));
        if (head < _tail - _capacity || head > _tail)
        {
            _faulted = true;
            return false;
        }
        _headCache = head;
        return true;
    }

    private static void WriteSource(byte* record, in EndpointBlock source)
    {
        byte* address = record + ClientRxRecord.SourceAddressOffset;
        new Span<byte>(address, 16).Clear();
        if (source.Family == EndpointBlock.FamilyInet)
        {
            // IPv4-mapped IPv6: ::ffff:a.b.c.d
            address[10] = 0xff;
            address[11] = 0xff;
            for (int i = 0; i < 4; i++)
            {
                address[12 + i] = source.Address[i];
            }
        }
        else if (source.Family == EndpointBlock.FamilyInet6)
        {
            for (int i = 0; i < 16; i++)
            {
                address[i] = source.Address[i];
            }
        }
        *(ushort*)(record + ClientRxRecord.SourcePortOffset) = source.Port;
        *(ushort*)(record + ClientRxRecord.SourceFamilyOffset) = source.Family;
    }
}
