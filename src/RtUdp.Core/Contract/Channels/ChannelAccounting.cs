namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// The accounting terms of a channel, defined once: the engine's final log line, the daemon's
/// supervisor, stats and metrics, and the tests all compute them here (<see cref="ChannelCounter"/> states
/// the invariants). It lives beside the counters, below both the engine and the client.
/// </summary>
public static class ChannelAccounting
{
    /// <summary>Packets in the TX ring not yet scheduled, plus those scheduled and not yet sent.</summary>
    public static long Pending(long enqueued, long scanned, long scheduled) => enqueued - scanned + scheduled;

    /// <summary>Packets in the RX ring not yet drained.</summary>
    public static long Buffered(long rxWritten, long drained) => rxWritten - drained;

    /// <summary>The TX terms of a channel whose counters <paramref name="read"/> returns.</summary>
    public static TxBalance Tx(Func<ChannelCounter, long> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        long enqueued = read(ChannelCounter.Enqueued);
        return new TxBalance(
            enqueued,
            read(ChannelCounter.Sent),
            read(ChannelCounter.DroppedLate),
            read(ChannelCounter.DroppedError),
            read(ChannelCounter.DroppedStopped),
            Pending(enqueued, read(ChannelCounter.Scanned), read(ChannelCounter.Scheduled)));
    }

    /// <summary>The RX terms of a channel whose counters <paramref name="read"/> returns.</summary>
    public static RxBalance Rx(Func<ChannelCounter, long> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        long drained = read(ChannelCounter.Drained);
        return new RxBalance(
            read(ChannelCounter.Received),
            drained,
            read(ChannelCounter.RxDroppedOverflow),
            read(ChannelCounter.RxDroppedTruncated),
            read(ChannelCounter.Reflected),
            read(ChannelCounter.ReflectErrors),
            Buffered(read(ChannelCounter.RxWritten), drained));
    }

    /// <summary>
    /// The same-host client terms of a channel: what the intake agent took from client rings and what became
    /// of it. <see cref="ClientBalance.Accepted"/> is within the TX balance's Enqueued, and
    /// <see cref="ClientBalance.RxDelivered"/> within the RX balance's Drained.
    /// </summary>
    public static ClientBalance Clients(Func<ChannelCounter, long> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return new ClientBalance(
            read(ChannelCounter.ClientAccepted),
            read(ChannelCounter.ClientMalformed),
            read(ChannelCounter.ClientThrottled),
            read(ChannelCounter.ClientDroppedDetach),
            read(ChannelCounter.ClientFaults),
            read(ChannelCounter.ClientRxDelivered),
            read(ChannelCounter.ClientRxUnreadDetach),
            read(ChannelCounter.ClientsAttached));
    }

    public static ClientBalance Clients(ChannelRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return Clients(region.Read);
    }

    /// <summary>Records a client ring's writer published that the engine has taken: <c>accepted + malformed + dropped_detach</c>.</summary>
    public static long ClientTaken(long accepted, long malformed, long droppedDetach) => accepted + malformed + droppedDetach;

    /// <inheritdoc cref="Pending(long, long, long)"/>
    public static long Pending(ChannelRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return Pending(region.Read(ChannelCounter.Enqueued), region.Read(ChannelCounter.Scanned), region.Read(ChannelCounter.Scheduled));
    }

    /// <inheritdoc cref="Buffered(long, long)"/>
    public static long Buffered(ChannelRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return Buffered(region.Read(ChannelCounter.RxWritten), region.Read(ChannelCounter.Drained));
    }

    public static TxBalance Tx(ChannelRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return Tx(region.Read);
    }

    public static RxBalance Rx(ChannelRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        return Rx(region.Read);
    }
}

/// <summary>TX side: enqueued = sent + dropped (late, error, stopped) + pending.</summary>
public readonly record struct TxBalance(long Enqueued, long Sent, long DroppedLate, long DroppedError, long DroppedStopped, long Pending)
{
    public long Dropped => DroppedLate + DroppedError + DroppedStopped;

    /// <summary>Enqueued packets none of the terms accounts for: 0 when the channel balances.</summary>
    public long Uncounted => Enqueued - (Sent + Dropped + Pending);

    public bool Balanced => Uncounted == 0;
}

/// <summary>
/// RX side: received = drained + dropped (overflow, truncated) + reflected (sent back or failed to be)
/// + buffered. Datagrams the kernel dropped before the engine read them were never received: outside the sum.
/// </summary>
public readonly record struct RxBalance(long Received, long Drained, long DroppedOverflow, long DroppedTruncated, long Reflected, long ReflectErrors, long Buffered)
{
    public long Dropped => DroppedOverflow + DroppedTruncated;

    /// <summary>Reflector: datagrams sent back or that failed to be (they never enter the RX ring).</summary>
    public long ReflectedTotal => Reflected + ReflectErrors;

    /// <summary>Received datagrams none of the terms accounts for: 0 when the channel balances.</summary>
    public long Uncounted => Received - (Drained + Dropped + ReflectedTotal + Buffered);

    public bool Balanced => Uncounted == 0;
}

/// <summary>
/// Same-host clients of a channel: every record taken from a client ring is accepted (then within the TX
/// balance's Enqueued), malformed (skipped) or dropped at detach; throttled counts packets that waited, within
/// those. On the receive side, delivered records are within Drained; unread ones were delivered and never read.
/// </summary>
public readonly record struct ClientBalance(long Accepted, long Malformed, long Throttled, long DroppedDetach, long Faults, long RxDelivered, long RxUnreadDetach, long Attached)
{
    /// <summary>Records taken from client rings.</summary>
    public long Taken => ChannelAccounting.ClientTaken(Accepted, Malformed, DroppedDetach);
}
