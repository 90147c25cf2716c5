using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;

namespace RtUdp.Core.Engine.Clients;

/// <summary>The hand-off states of a <see cref="ClientSlot"/> between the conductor and the intake agent.</summary>
internal static class ClientSlotState
{
    /// <summary>The conductor may fill it.</summary>
    public const int Free = 0;

    /// <summary>Published by the conductor: the agent serves it.</summary>
    public const int Active = 1;

    /// <summary>The conductor asks the agent to drain or drop it.</summary>
    public const int DetachRequested = 2;

    /// <summary>The agent let go of it (counts written); the conductor frees it.</summary>
    public const int Detached = 3;
}

/// <summary>
/// One attached client, preallocated. The conductor writes the fields while the slot is Free, then publishes it
/// (a release store of <see cref="State"/>); from then on only the agent touches the ring views and counts,
/// until it stores Detached, after which only the conductor does again.
/// </summary>
internal sealed class ClientSlot
{
    public int State;

    public ClientRegion? Region;
    public ChannelRegion? Channel;
    public uint ChannelId;
    public uint ClientId;
    public int Tag;
    public bool Sends;
    public bool Receives;
    public ClientTxReader Tx;
    public ClientRxWriter Rx;
    public ClientLimiter? Limiter;

    // The agent's own.
    public bool Counted;
    public bool Faulted;
    public bool ThrottledCounted;
    public bool SignalChannel;

    /// <summary>CLOCK_MONOTONIC before which the TX side need not be looked at (a limit or a full channel ring); 0: none.</summary>
    public long TxBlockedUntilNs;

    /// <summary>The client's RX ring was full at the last look.</summary>
    public bool RxBlocked;

    // Detach: the request (conductor) and the answer (agent).
    public ClientExitPolicy Policy;
    public long DrainDeadlineNs;
    public long Drained;
    public long Dropped;
    public long RxUnread;

    public void Clear()
    {
        Region = null;
        Channel = null;
        Limiter = null;
        Tx = default;
        Rx = default;
        ChannelId = 0;
        ClientId = 0;
        Tag = 0;
        Sends = Receives = Counted = Faulted = ThrottledCounted = SignalChannel = RxBlocked = false;
        TxBlockedUntilNs = 0;
        Policy = ClientExitPolicy.Drain;
        DrainDeadlineNs = Drained = Dropped = RxUnread = 0;
    }
}
