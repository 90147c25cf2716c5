using System.Runtime.InteropServices;

namespace RtUdp.Core.ShmClient;

/// <summary>
/// An attachment's counters and rings, as <c>rtudp_stats</c> in rtudp.h (same fields, same order, so librtudp
/// copies it as is). A racy snapshot: each word is read once, the engine keeps writing.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ShmStats
{
    public ulong TxAccepted;
    public ulong TxMalformed;
    public ulong TxThrottled;
    public ulong TxDroppedDetach;
    public ulong RxDelivered;
    public ulong RxUnreadDetach;
    public ulong Faults;

    /// <summary>TX bytes written (published or not) that the engine has not taken yet.</summary>
    public ulong TxRingUsedBytes;
    public ulong TxRingCapacity;

    /// <summary>RX bytes the engine wrote that the client has not read yet.</summary>
    public ulong RxRingUsedBytes;
    public ulong RxRingCapacity;

    /// <summary>Contract.Clients.ClientState: 1 attached, 2 detached, 3 faulted, 4 reattaching.</summary>
    public uint State;
    public uint EngineEpoch;
    public uint ChannelId;
    public uint ClientId;
    public uint MaxPayload;
    public uint Reserved;
}
