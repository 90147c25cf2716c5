namespace RtUdp.Core.Contract.Clients;

/// <summary>Per-client counters, u64 slots at offset 256 of the region, written by the engine only.</summary>
public enum ClientCounter
{
    /// <summary>TX records copied into the channel's TX ring.</summary>
    TxAccepted = 0,

    /// <summary>TX records that framed correctly but were not packets the daemon would accept: skipped.</summary>
    TxMalformed = 1,

    /// <summary>TX records that had to wait for a limit (each counted once).</summary>
    TxThrottled = 2,

    /// <summary>Published TX records dropped at detach (policy drop, or drain ran out of time).</summary>
    TxDroppedDetach = 3,

    /// <summary>RX records written into the client's RX ring.</summary>
    RxDelivered = 4,

    /// <summary>RX records the client never read before it detached.</summary>
    RxUnreadDetach = 5,

    /// <summary>Times the engine found the ring corrupt (0 or 1: a faulted ring is read no more).</summary>
    Faults = 6,
}
