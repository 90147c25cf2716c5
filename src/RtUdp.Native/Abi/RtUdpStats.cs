using System.Runtime.InteropServices;

namespace RtUdp.Native.Abi;

/// <summary><c>rtudp_stats</c>: an attachment's counters and state (112 bytes; checked against rtudp.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct RtUdpStats
{
    public ulong TxAccepted;
    public ulong TxMalformed;
    public ulong TxThrottled;
    public ulong TxDroppedDetach;
    public ulong RxDelivered;
    public ulong RxUnreadDetach;
    public ulong Faults;
    public ulong TxRingUsedBytes;
    public ulong TxRingCapacity;
    public ulong RxRingUsedBytes;
    public ulong RxRingCapacity;
    public uint State;
    public uint EngineEpoch;
    public uint ChannelId;
    public uint ClientId;
    public uint MaxPayload;
    public uint Reserved;
}
