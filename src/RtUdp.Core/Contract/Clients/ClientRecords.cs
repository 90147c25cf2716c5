namespace RtUdp.Core.Contract.Clients;

/// <summary>Record kinds of both client rings.</summary>
public static class ClientRecordKind
{
    public const int Packet = 1;

    /// <summary>Skip to the end of the buffer: the next record starts at index 0.</summary>
    public const int Padding = 2;
}

/// <summary>A TX record (client → engine): 32-byte header, then the payload; align8(32 + length) bytes in all.</summary>
public static class ClientTxRecord
{
    public const int KindOffset = 0;
    public const int LengthOffset = 4;
    public const int DueNsOffset = 8;
    public const int PacketIdOffset = 16;
    public const int FlagsOffset = 24;
    public const int ReservedOffset = 28;
    public const int HeaderLength = 32;

    /// <summary>Bytes a record with <paramref name="payloadLength"/> bytes takes in the ring.</summary>
    public static int RecordLength(int payloadLength) => ClientRegionLayout.Align(HeaderLength + payloadLength);
}

/// <summary>Bits of a TX record's flags.</summary>
public static class ClientTxFlags
{
    /// <summary>Send as soon as possible; the due time is ignored.</summary>
    public const int Immediate = 1;

    public const int All = Immediate;
}

/// <summary>An RX record (engine → client): 80-byte header, then the payload.</summary>
public static class ClientRxRecord
{
    public const int KindOffset = 0;
    public const int LengthOffset = 4;
    public const int KernelRealtimeNsOffset = 8;
    public const int HardwareRawNsOffset = 16;
    public const int BestMonotonicNsOffset = 24;
    public const int WorkerMonotonicNsOffset = 32;
    public const int StampSourceOffset = 40;
    public const int FlagsOffset = 44;
    public const int SourceAddressOffset = 48;
    public const int SourcePortOffset = 64;
    public const int SourceFamilyOffset = 66;
    public const int ReservedOffset = 68;
    public const int SequenceOffset = 72;
    public const int HeaderLength = 80;

    public static int RecordLength(int payloadLength) => ClientRegionLayout.Align(HeaderLength + payloadLength);
}

/// <summary>An RX record's header as the client reads it (the payload goes to the caller's buffer).</summary>
public unsafe struct RxRecordInfo
{
    public int Length;
    public long KernelRealtimeNs;
    public long HardwareRawNs;
    public long BestMonotonicNs;
    public long WorkerMonotonicNs;

    /// <summary>Timestamping.StampSource: 0 none, 1 worker, 2 software, 3 hardware.</summary>
    public int StampSource;

    /// <summary>Channels.RxPacketFlags (bit 0 coalesced).</summary>
    public int Flags;

    /// <summary>IPv4 as IPv4-mapped IPv6.</summary>
    public fixed byte SourceAddress[16];
    public ushort SourcePort;

    /// <summary>2 AF_INET, 10 AF_INET6.</summary>
    public ushort SourceFamily;
    public long Sequence;
}
