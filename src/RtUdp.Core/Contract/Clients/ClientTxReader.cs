using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Contract.Clients;

/// <summary>How a TX record at the reader's position was classified.</summary>
public enum ClientTxRecordClass
{
    /// <summary>Nothing published beyond the reader's position.</summary>
    Empty = 0,

    /// <summary>A packet to copy into the channel's ring (see <see cref="ClientTxPacket"/>).</summary>
    Packet = 1,

    /// <summary>Framed correctly but not acceptable: skip it (<see cref="ClientTxReader.Advance"/>) and count it.</summary>
    Malformed = 2,

    /// <summary>The ring cannot be framed: fault the client; the reader returns this from now on.</summary>
    Faulted = 3,
}

/// <summary>A TX record as the engine took it: its header copied once, the payload still in the ring.</summary>
public unsafe struct ClientTxPacket
{
    public byte* Payload;
    public int PayloadLength;

    /// <summary>CLOCK_MONOTONIC ns; for an immediate packet, the "now" passed to <see cref="ClientTxReader.Peek"/>.</summary>
    public long DueNs;
    public long PacketId;

    /// <summary>Channels.TxPacketFlags for the channel's ring (Immediate or 0).</summary>
    public int TxFlags;

    /// <summary>Why it is malformed or faulted.</summary>
    public ClientTxProblem Problem;
}

/// <summary>
/// The engine's side of a client's TX ring. It trusts nothing there: its head is private (the region's copy is
/// only written, for the client to see space), the client's tail is read with acquire and checked, and each
/// record's header is copied into locals once, then checked, before anything is done with it.
/// </summary>
/// <remarks>
/// Use: <see cref="Peek"/> classifies the record at the position; <see cref="Advance"/> consumes it (or leave it
/// there: back-pressure); <see cref="Release"/> stores the head for the client, once per batch.
/// </remarks>
public unsafe struct ClientTxReader
{
    private readonly byte* _header;
    private readonly byte* _buffer;
    private readonly int _capacity;
    private readonly int _mask;
    private readonly int _maxPayload;
    private readonly long _horizonNs;
    private long _head;
    private long _released;
    private long _tail;
    private int _peeked;
    private ClientTxProblem _fault;

    internal ClientTxReader(byte* header, int capacity, int maxPayload, long horizonNs)
    {
        _header = header;
        _buffer = header + ClientRegionLayout.TxRingOffset;
        _capacity = capacity;
        _mask = capacity - 1;
        _maxPayload = maxPayload;
        _horizonNs = horizonNs;
        // The one time the head is read back: where an earlier engine (before a restart) stopped. Only the
        // engine writes it, but check it anyway; a bad one faults at the first Peek (the tail check).
        _head = Volatile.Read(ref *(long*)(header + ClientRegionLayout.TxHeadOffset));
        if ((_head & 7) != 0 || _head < 0)
        {
            _fault = ClientTxProblem.HeadInvalid;
        }
        _released = _head;
        _tail = _head;
    }

    /// <summary>Bytes consumed (the private head).</summary>
    public readonly long Head => _head;

    /// <summary>The fault found, or <see cref="ClientTxProblem.None"/>.</summary>
    public readonly ClientTxProblem Fault => _fault;

    /// <summary>Published bytes not yet consumed, by the last tail read (a racy snapshot).</summary>
    public readonly long Pending => _tail - _head;

    /// <summary>
    /// Classifies the next published record. <paramref name="nowNs"/> (CLOCK_MONOTONIC) is the due time of
    /// an immediate packet and the base of the horizon check. Calling it again without <see cref="Advance"/>
    /// returns the same record (a client scribbling over it meanwhile may change the answer, never the safety).
    /// </summary>
    public ClientTxRecordClass Peek(long nowNs, out ClientTxPacket packet)
    {
        packet = default;
        if (_fault != ClientTxProblem.None)
        {
            packet.Problem = _fault;
            return ClientTxRecordClass.Faulted;
        }
        while (true)
        {
            if (_head == _tail && !RefreshTail())
            {
                return _fault == ClientTxProblem.None ? ClientTxRecordClass.Empty : Faulted(_fault, ref packet);
            }

            int index = (int)_head & _mask;
            int toEnd = _capacity - index;
            long available = _tail - _head;
            byte* record = _buffer + index;
            // Aligned positions leave at least 8 bytes to the end, so the kind and length words are in the ring.
            int kind = *(int*)(record + ClientTxRecord.KindOffset);
            if (kind == ClientRecordKind.Padding)
            {
                if (available < toEnd)
                {
                    return Faulted(ClientTxProblem.PaddingBeyondTail, ref packet);
                }
                _head += toEnd;
                continue;
            }
            if (kind != ClientRecordKind.Packet)
            {
                return Faulted(ClientTxProblem.BadKind, ref packet);
            }
            if (toEnd < ClientTxRecord.HeaderLength)
            {
                return Faulted(ClientTxProblem.HeaderBeyondEnd, ref packet);
            }
            if (available < ClientTxRecord.HeaderLength)
            {
                return Faulted(ClientTxProblem.HeaderBeyondTail, ref packet);
            }

            // One copy of the header: every check and use below reads this, never the ring again.
            TxRecordImage image = *(TxRecordImage*)record;
            if (image.Length < 0)
            {
                return Faulted(ClientTxProblem.NegativeLength, ref packet);
            }
            long recordLength = ((long)ClientTxRecord.HeaderLength + image.Length + 7) & ~7L;
            if (recordLength > toEnd)
            {
                return Faulted(ClientTxProblem.RecordBeyondEnd, ref packet);
            }
            if (recordLength > available)
            {
                return Faulted(ClientTxProblem.RecordBeyondTail, ref packet);
            }

            _peeked = (int)recordLength;
            packet.Payload = record + ClientTxRecord.HeaderLength;
            packet.PayloadLength = image.Length;
            packet.PacketId = image.PacketId;
            packet.Problem = Classify(image, nowNs, ref packet);
            return packet.Problem == ClientTxProblem.None ? ClientTxRecordClass.Packet : ClientTxRecordClass.Malformed;
        }
    }

    /// <summary>Consumes the record the last <see cref="Peek"/> returned (packet or malformed).</summary>
    public void Advance()
    {
        _head += _peeked;
        _peeked = 0;
    }

    /// <summary>Stores the private head for the client (release): the space behind it is the client's again.</summary>
    public void Release()
    {
        if (_head != _released)
        {
            Volatile.Write(ref *(long*)(_header + ClientRegionLayout.TxHeadOffset), _head);
            _released = _head;
        }
    }

    /// <summary>True if the client published beyond what this reader has consumed (a cheap acquire read).</summary>
    public readonly bool HasPublished() =>
        _fault == ClientTxProblem.None && Volatile.Read(ref *(long*)(_header + ClientRegionLayout.TxTailOffset)) != _head;

    private bool RefreshTail()
    {
        // Acquire: a tail read here makes the client's records written before it visible.
        long tail = Volatile.Read(ref *(long*)(_header + ClientRegionLayout.TxTailOffset));
        if (tail == _head)
        {
            return false;
        }
        if ((tail & 7) != 0)
        {
            _fault = ClientTxProblem.TailMisaligned;
            return false;
        }
        if (tail < _head)
        {
            _fault = ClientTxProblem.TailBehindHead;
            return false;
        }
        if (tail - _head > _capacity)
        {
            _fault = ClientTxProblem.TailBeyondCapacity;
            return false;
        }
        _tail = tail;
        return true;
    }

    private ClientTxRecordClass Faulted(ClientTxProblem problem, ref ClientTxPacket packet)
    {
        _fault = problem;
        _peeked = 0;
        packet.Problem = problem;
        return ClientTxRecordClass.Faulted;
    }

    private readonly ClientTxProblem Classify(in TxRecordImage image, long nowNs, ref ClientTxPacket packet)
    {
        if (image.Length > _maxPayload)
        {
            return ClientTxProblem.PayloadTooLarge;
        }
        if ((image.Flags & ~ClientTxFlags.All) != 0)
        {
            return ClientTxProblem.UnknownFlags;
        }
        if (image.Reserved != 0)
        {
            return ClientTxProblem.ReservedNotZero;
        }
        if (!PacketIdRule.IsClientChoice(image.PacketId))
        {
            return ClientTxProblem.BadPacketId;
        }
        if ((image.Flags & ClientTxFlags.Immediate) != 0)
        {
            packet.DueNs = nowNs;
            packet.TxFlags = TxPacketFlags.Immediate;
            return ClientTxProblem.None;
        }
        if (image.DueNs <= 0)
        {
            return ClientTxProblem.DueNotPositive;
        }
        if (_horizonNs > 0 && image.DueNs - nowNs > _horizonNs)
        {
            return ClientTxProblem.DueBeyondHorizon;
        }
        packet.DueNs = image.DueNs;
        return ClientTxProblem.None;
    }

    /// <summary>The 32-byte TX record header, copied out of the ring in one go.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct TxRecordImage
    {
        public int Kind;
        public int Length;
        public long DueNs;
        public long PacketId;
        public int Flags;
        public int Reserved;
    }
}
