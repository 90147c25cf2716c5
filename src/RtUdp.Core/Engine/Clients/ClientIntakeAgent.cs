using System.Runtime.InteropServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Native;

namespace RtUdp.Core.Engine.Clients;

/// <summary>
/// The engine's reader of same-host client rings ("rt-intake", docs/shm-clients.md): round robin over the
/// attached clients, at most <see cref="RecordsPerTurn"/> records of one client per turn, it validates each
/// record, applies the client's limits (back-pressure: a packet over a limit waits in its ring), and copies
/// packets into the channel's TX ring as any producer does. For a client that receives, it is the consumer of
/// the channel's RX ring and copies records into the client's RX ring. Idle, it sleeps in one futex_waitv
/// over every client's TX doorbell, every receiving channel's RX ring and its own control word.
/// </summary>
/// <remarks>
/// Allocation-free after construction: the slots, the waiter array and the control word exist from the start;
/// the conductor fills a slot (allocating the region mapping and the limiter) and hands it over with a release
/// store, and asks for it back the same way (<see cref="Attach"/>, <see cref="Detach"/>).
/// </remarks>
public sealed unsafe class ClientIntakeAgent : IAgent, IDisposable
{
    /// <summary>The most clients one engine serves (the broker's per-engine limit).</summary>
    public const int MaxClients = 60;

    /// <summary>Fairness: records of one client per turn.</summary>
    public const int RecordsPerTurn = 64;

    /// <summary>Idle passes spent spinning before the agent parks.</summary>
    private const int SpinPasses = 50;

    /// <summary>How soon to look again at a ring that had no room (the channel's TX ring, a client's RX ring): neither side rings for it.</summary>
    private const long NoRoomRetryNs = 200_000;

    /// <summary>Without futex_waitv, how long an idle agent with clients sleeps before it looks at their rings again.</summary>
    public const long PollIntervalNs = 100_000;

    /// <summary>Each slot can add a TX doorbell and an RX ring word; one more for the control word.</summary>
    private const int MaxWaiters = (2 * MaxClients) + 1;

    private readonly ClientSlot[] _slots = new ClientSlot[MaxClients];
    private readonly ChannelRegion?[] _signalled = new ChannelRegion?[MaxClients];
    private readonly Libc.futex_waitv* _waiters;
    private readonly int* _control;
    private int _next;
    private int _idlePasses;
    private volatile bool _stopRequested;

    /// <param name="wake">How the agent sleeps: <see cref="ClientIntakeWake.FutexWaitv"/> needs Linux 5.16.</param>
    public ClientIntakeAgent(ClientIntakeWake wake = ClientIntakeWake.FutexWaitv)
    {
        WakeMode = wake;
        for (int i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new ClientSlot();
        }
        _waiters = (Libc.futex_waitv*)NativeMemory.AllocZeroed((nuint)(MaxWaiters * sizeof(Libc.futex_waitv)));
        _control = (int*)NativeMemory.AllocZeroed(sizeof(int) * 32);
    }

    public string RoleName => "rt-intake";

    /// <summary>How the agent sleeps while idle.</summary>
    public ClientIntakeWake WakeMode { get; }

    /// <summary>The agent's sleep as the engine's log and capability report give it.</summary>
    public string DescribeWake() => WakeMode == ClientIntakeWake.FutexWaitv
        ? "futex_waitv on every client's doorbell"
        : $"polling every {PollIntervalNs / 1000} us while clients are attached (no futex_waitv)";

    /// <summary>Passes that took or delivered at least one record (read by tests and stats, racy).</summary>
    public long BusyPasses { get; private set; }

    /// <summary>Times the agent parked in futex_waitv.</summary>
    public long Parks { get; private set; }

    public void OnStart()
    {
        // The first client's first packet should not wait for the JIT.
        JitWarmUp.Prepare(typeof(ClientIntakeAgent));
        JitWarmUp.Prepare(typeof(ClientTxReader));
        JitWarmUp.Prepare(typeof(ClientRxWriter));
        JitWarmUp.Prepare(typeof(ClientLimiter));
        JitWarmUp.Prepare(typeof(ClientRegion));
        JitWarmUp.Prepare(typeof(ClientTxProblems));
        JitWarmUp.Prepare(typeof(RecordRing));
        JitWarmUp.Prepare(typeof(ChannelRegion));
    }

    public void OnClose()
    {
    }

    public void DoWork()
    {
        long now = Libc.MonotonicNow();
        bool worked = false;
        int start = _next;
        _next = start + 1 == MaxClients ? 0 : start + 1;
        for (int i = 0; i < MaxClients; i++)
        {
            int index = start + i;
            ClientSlot slot = _slots[index >= MaxClients ? index - MaxClients : index];
            int state = Volatile.Read(ref slot.State);
            if (state == ClientSlotState.Active)
            {
                worked |= Serve(slot, now, draining: false);
            }
            else if (state == ClientSlotState.DetachRequested)
            {
                if (slot.Policy == ClientExitPolicy.Drain)
                {
                    // Only the TX side: what the client published goes out; nothing more is delivered to it.
                    worked |= Serve(slot, now, draining: true);
                }
                FinishDetachIfDone(slot, now);
            }
        }
        SignalChannels();
        if (worked)
        {
            BusyPasses++;
            _idlePasses = 0;
            return;
        }
        if (++_idlePasses < SpinPasses)
        {
            Thread.SpinWait(20);
            return;
        }
        Park(now);
    }

    // ---------------------------------------------------------------- serving one client

    private bool Serve(ClientSlot slot, long now, bool draining)
    {
        CountAttached(slot);
        if (slot.Faulted)
        {
            return false;
        }
        bool worked = false;
        if (slot.Sends && slot.TxBlockedUntilNs <= now)
        {
            worked |= Intake(slot, now, draining);
        }
        if (slot.Receives && !slot.Faulted && !draining)
        {
            worked |= Deliver(slot, now);
        }
        return worked;
    }

    /// <summary>The ClientsAttached gauge, kept by the agent (the channel counters' one writer for clients).</summary>
    private static void CountAttached(ClientSlot slot)
    {
        if (!slot.Counted)
        {
            slot.Counted = true;
            slot.Channel!.Add(ChannelCounter.ClientsAttached, 1);
        }
    }

    private bool Intake(ClientSlot slot, long now, bool draining)
    {
        ClientRegion region = slot.Region!;
        ChannelRegion channel = slot.Channel!;
        slot.TxBlockedUntilNs = 0;
        if (channel.State is not (ChannelState.Created or ChannelState.Running))
        {
            // Stopped: the records wait in the client's ring, as the daemon refuses gRPC packets meanwhile.
            slot.TxBlockedUntilNs = now + AgentRunner.MaxWaitNs;
            return false;
        }
        RecordRing ring = channel.TxRing;
        int taken = 0;
        int accepted = 0;
        int malformed = 0;
        while (taken < RecordsPerTurn)
        {
            ClientTxRecordClass kind = slot.Tx.Peek(now, out ClientTxPacket packet);
            if (kind == ClientTxRecordClass.Empty)
            {
                break;
            }
            if (kind == ClientTxRecordClass.Faulted)
            {
                Fault(slot, ClientTxProblems.Describe(packet.Problem));
                break;
            }
            if (kind == ClientTxRecordClass.Malformed)
            {
                slot.Tx.Advance();
                slot.Tx.Release();
                region.AddCounter(ClientCounter.TxMalformed);
                slot.ThrottledCounted = false;
                malformed++;
                taken++;
                continue;
            }
            // A drain holds the departed client to its limits too (its neighbours' protection does not end with it):
            // what the limits keep back past the drain time is dropped and counted.
            if (!slot.Limiter!.TryAdmit(now, out long retryAt))
            {
                if (!slot.ThrottledCounted)
                {
                    slot.ThrottledCounted = true;
                    region.AddCounter(ClientCounter.TxThrottled);
                    channel.Add(ChannelCounter.ClientThrottled, 1);
                }
                slot.TxBlockedUntilNs = retryAt;
                break;
            }
            int index = ring.TryClaim(PacketRecordType.Packet, sizeof(TxPacketHeader) + packet.PayloadLength);
            if (index < 0)
            {
                // The channel's ring is full: the record stays in the client's (back-pressure, never dropped).
                slot.TxBlockedUntilNs = now + NoRoomRetryNs;
                break;
            }
            byte* body = ring.Body(index);
            *(TxPacketHeader*)body = new TxPacketHeader { DueNs = packet.DueNs, PacketId = packet.PacketId, ClientTag = slot.Tag, Flags = packet.TxFlags };
            Buffer.MemoryCopy(packet.Payload, body + sizeof(TxPacketHeader), packet.PayloadLength, packet.PayloadLength);
            // Enqueued (before the commit, as ChannelHandle.TryEnqueue counts: the engine never scans more than was
            // enqueued), the client's head, the commit: back to back, after the copy. An engine killed after the head
            // leaves a record counted as its loss that the next engine does not take again (at most once); only a kill
            // between the count and the head, two stores apart, has one counted lost and sent by the next engine.
            // Storing the head once per turn would send a whole turn twice.
            channel.AddAtomic(ChannelCounter.Enqueued, 1);
            slot.Tx.Advance();
            slot.Tx.Release();
            region.AddCounter(ClientCounter.TxAccepted);
            ring.Commit(index);
            slot.Limiter!.Taken(now, packet.DueNs);
            slot.ThrottledCounted = false;
            accepted++;
            taken++;
        }
        slot.Tx.Release(); // padding skipped before an empty or refused record
        if (accepted != 0)
        {
            channel.Add(ChannelCounter.ClientAccepted, accepted);
            slot.SignalChannel = true;
            if (draining)
            {
                slot.Drained += accepted;
            }
        }
        if (malformed != 0)
        {
            channel.Add(ChannelCounter.ClientMalformed, malformed);
        }
        return taken != 0;
    }

    private static bool Deliver(ClientSlot slot, long now)
    {
        ChannelRegion channel = slot.Channel!;
        var handler = new RxCopy(slot, channel.DeliveryHistogram, now);
        int delivered = channel.RxRing.ReadWhileTaken(ref handler, RecordsPerTurn);
        slot.RxBlocked = handler.Blocked;
        if (delivered != 0)
        {
            slot.Rx.Publish();
            slot.Region!.AddCounter(ClientCounter.RxDelivered, (ulong)delivered);
            channel.Add(ChannelCounter.ClientRxDelivered, delivered);
            // Drained has one writer at a time (rtudpd stops draining a channel a client receives on), atomically all the same.
            channel.AddAtomic(ChannelCounter.Drained, delivered);
        }
        if (handler.Faulted)
        {
            Fault(slot, "RX head outside [tail - capacity, tail]");
        }
        return delivered != 0;
    }

    /// <summary>Copies RX ring records into the client's RX ring while it has room.</summary>
    private struct RxCopy(ClientSlot slot, Contract.Stats.LatencyHistogram delivery, long now) : IRecordHandler
    {
        public bool Blocked;
        public bool Faulted;

        public bool OnRecord(int type, byte* body, int length)
        {
            if (length < sizeof(RxPacketHeader))
            {
                return true; // not a packet record: taken and skipped
            }
            RxPacketHeader* header = (RxPacketHeader*)body;
            var payload = new ReadOnlySpan<byte>(body + sizeof(RxPacketHeader), length - sizeof(RxPacketHeader));
            switch (slot.Rx.TryWrite(*header, payload))
            {
                case ClientRxWriteResult.Written:
                    if (header->BestMonotonicNs != 0)
                    {
                        delivery.Record(now - header->BestMonotonicNs);
                    }
                    return true;
                case ClientRxWriteResult.Full:
                    Blocked = true;
                    return false;
                default:
                    Faulted = true;
                    return false;
            }
        }
    }

    private static void Fault(ClientSlot slot, string message)
    {
        slot.Faulted = true;
        slot.Region!.AddCounter(ClientCounter.Faults);
        slot.Region.SetState(ClientState.Faulted, ShmStatus.Faulted, message);
        slot.Channel!.Add(ChannelCounter.ClientFaults, 1);
    }

    private void SignalChannels()
    {
        int signalled = 0;
        for (int i = 0; i < MaxClients; i++)
        {
            ClientSlot slot = _slots[i];
            if (!slot.SignalChannel)
            {
                continue;
            }
            slot.SignalChannel = false;
            ChannelRegion channel = slot.Channel!;
            if (Array.IndexOf(_signalled, channel, 0, signalled) >= 0)
            {
                continue; // two clients of one channel: one wake-up
            }
            _signalled[signalled++] = channel;
            // Once per pass and channel: a fence, and a syscall only if the send worker sleeps.
            channel.TxRing.ConsumerWait.Signal();
        }
        Array.Clear(_signalled, 0, signalled);
    }

    // ---------------------------------------------------------------- detach

    private static void FinishDetachIfDone(ClientSlot slot, long now)
    {
        CountAttached(slot);
        bool drain = slot.Policy == ClientExitPolicy.Drain && !slot.Faulted && slot.Sends;
        if (drain && now < Volatile.Read(ref slot.DrainDeadlineNs) && slot.Tx.HasPublished())
        {
            return; // more to send: the next passes continue
        }
        ClientRegion region = slot.Region!;
        ChannelRegion channel = slot.Channel!;
        if (slot.Sends && !slot.Faulted)
        {
            // What is left (drop, or a drain out of time): each record published and not taken, counted once.
            long dropped = 0;
            while (slot.Tx.Peek(now, out _) is ClientTxRecordClass.Packet or ClientTxRecordClass.Malformed)
            {
                slot.Tx.Advance();
                dropped++;
            }
            slot.Tx.Release();
            slot.Dropped = dropped;
            if (dropped != 0)
            {
                region.AddCounter(ClientCounter.TxDroppedDetach, (ulong)dropped);
                channel.Add(ChannelCounter.ClientDroppedDetach, dropped);
            }
        }
        if (slot.Receives)
        {
            slot.Rx.Publish();
            slot.RxUnread = slot.Rx.CountUnread();
            if (slot.RxUnread != 0)
            {
                region.AddCounter(ClientCounter.RxUnreadDetach, (ulong)slot.RxUnread);
                channel.Add(ChannelCounter.ClientRxUnreadDetach, slot.RxUnread);
            }
        }
        if (slot.Counted)
        {
            channel.Add(ChannelCounter.ClientsAttached, -1);
        }
        region.IntakeWait.CancelWait();
        if (slot.SignalChannel)
        {
            // Now, not at the end of the pass: once Detached, the slot (and its channel) are the conductor's.
            slot.SignalChannel = false;
            channel.TxRing.ConsumerWait.Signal();
        }
        // Release: the counts above are visible to the conductor that reads Detached.
        Volatile.Write(ref slot.State, ClientSlotState.Detached);
    }

    // ---------------------------------------------------------------- sleeping

    private void Park(long now)
    {
        if (WakeMode == ClientIntakeWake.Polling)
        {
            Poll(now);
            return;
        }
        long deadline = now + AgentRunner.MaxWaitNs;
        int count = 0;
        _waiters[count++] = Waiter(_control, Volatile.Read(ref *_control));
        bool busy = false;
        for (int i = 0; i < MaxClients; i++)
        {
            ClientSlot slot = _slots[i];
            int state = Volatile.Read(ref slot.State);
            if (state == ClientSlotState.DetachRequested)
            {
                // A detach in progress: no sleeping on it, unless its drain waits for its limits.
                if (DrainResumesAt(slot) is long resume && resume > now)
                {
                    deadline = Math.Min(deadline, resume);
                }
                else
                {
                    busy = true;
                }
                continue;
            }
            if (state != ClientSlotState.Active || slot.Faulted)
            {
                continue;
            }
            if (slot.Sends)
            {
                if (slot.TxBlockedUntilNs != 0)
                {
                    deadline = Math.Min(deadline, slot.TxBlockedUntilNs);
                }
                var intake = slot.Region!.IntakeWait;
                _waiters[count++] = Waiter(intake.SequenceWord, intake.PrepareWait());
            }
            if (slot.Receives)
            {
                var wait = slot.Channel!.RxRing.ConsumerWait;
                _waiters[count++] = Waiter(wait.SequenceWord, wait.PrepareWait());
                if (slot.RxBlocked)
                {
                    deadline = Math.Min(deadline, now + NoRoomRetryNs);
                }
            }
        }
        // Each PrepareWait above fenced after its park flag (EventCount's half of the protocol); now re-check every ring.
        if (!busy && !_stopRequested && !HasWork(now))
        {
            Parks++;
            _ = Libc.futex_waitv_abs(_waiters, count, deadline);
        }
        for (int i = 0; i < MaxClients; i++)
        {
            ClientSlot slot = _slots[i];
            if (Volatile.Read(ref slot.State) is ClientSlotState.Active or ClientSlotState.DetachRequested && !slot.Faulted)
            {
                if (slot.Sends)
                {
                    slot.Region!.IntakeWait.CancelWait();
                }
                if (slot.Receives)
                {
                    slot.Channel!.RxRing.ConsumerWait.CancelWait();
                }
            }
        }
        _idlePasses = 0;
    }

    /// <summary>
    /// The sleep without futex_waitv: on the control word alone (attach, detach and stop ring it), for at most
    /// <see cref="PollIntervalNs"/> while any client is attached. No park flag is raised in a client region, so
    /// clients publish without a wake-up call, and their packets wait up to one interval.
    /// </summary>
    private void Poll(long now)
    {
        long deadline = now + AgentRunner.MaxWaitNs;
        for (int i = 0; i < MaxClients; i++)
        {
            ClientSlot slot = _slots[i];
            int state = Volatile.Read(ref slot.State);
            if (state == ClientSlotState.DetachRequested)
            {
                if (DrainResumesAt(slot) is not long resume || resume <= now)
                {
                    return; // a detach in progress: no sleeping on it
                }
                deadline = Math.Min(deadline, resume);
            }
            if (state == ClientSlotState.Active && !slot.Faulted)
            {
                deadline = Math.Min(deadline, now + PollIntervalNs);
            }
        }
        int ticket = Volatile.Read(ref *_control);
        if (!_stopRequested && !HasWork(now))
        {
            Parks++;
            _ = Libc.futex_wait_bitset_abs(_control, ticket, deadline);
        }
        _idlePasses = 0;
    }

    /// <summary>When a draining client's limits let its next packet go (or its drain time ends); null when it is not held back.</summary>
    private static long? DrainResumesAt(ClientSlot slot) =>
        slot.Sends && !slot.Faulted && slot.Policy == ClientExitPolicy.Drain && slot.TxBlockedUntilNs != 0
            ? Math.Min(slot.TxBlockedUntilNs, Volatile.Read(ref slot.DrainDeadlineNs))
            : null;

    private bool HasWork(long now)
    {
        for (int i = 0; i < MaxClients; i++)
        {
            ClientSlot slot = _slots[i];
            if (Volatile.Read(ref slot.State) != ClientSlotState.Active || slot.Faulted)
            {
                continue;
            }
            if (slot.Sends && slot.TxBlockedUntilNs <= now && slot.Tx.HasPublished())
            {
                return true;
            }
            if (slot.Receives && !slot.RxBlocked && slot.Channel!.RxRing.HasPublishedAt(slot.Channel.RxRing.HeadPositionVolatile))
            {
                return true;
            }
        }
        return false;
    }

    private static Libc.futex_waitv Waiter(int* word, int value) => new()
    {
        val = (uint)value,
        uaddr = (ulong)word,
        flags = Libc.FUTEX2_SIZE_U32,
    };

    public void Wake()
    {
        _stopRequested = true;
        RingControl();
    }

    /// <summary>Bumps the control word and wakes the agent wherever it sleeps (attach, detach, stop).</summary>
    private void RingControl()
    {
        Interlocked.Increment(ref *_control);
        _ = Libc.futex_wake(_control, 1);
    }

    // ---------------------------------------------------------------- the conductor's side

    /// <summary>
    /// Hands a mapped client region to the agent (conductor thread). The agent serves it from its next pass.
    /// </summary>
    /// <exception cref="InvalidOperationException">The client is already attached, or all <see cref="MaxClients"/> slots are taken.</exception>
    public void Attach(ClientRegion region, ChannelRegion channel, uint flags, in ClientAttachLimits limits)
    {
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(channel);
        ClientSlot? free = null;
        foreach (ClientSlot slot in _slots)
        {
            int state = Volatile.Read(ref slot.State);
            if (state != ClientSlotState.Free && slot.ClientId == region.ClientId)
            {
                throw new InvalidOperationException($"Client {region.ClientId} is already attached.");
            }
            if (state != ClientSlotState.Free && slot.Receives && (flags & ClientRegionFlags.Receive) != 0 && slot.ChannelId == region.ChannelId)
            {
                throw new InvalidOperationException($"Channel {region.ChannelId} already has a same-host receiver (client {slot.ClientId}).");
            }
            if (state == ClientSlotState.Free)
            {
                free ??= slot;
            }
        }
        if (free is null)
        {
            throw new InvalidOperationException($"The engine serves at most {MaxClients} same-host clients.");
        }
        free.Clear();
        free.Region = region;
        free.Channel = channel;
        free.ChannelId = region.ChannelId;
        free.ClientId = region.ClientId;
        free.Tag = ClientTag.Of(region.ClientId);
        free.Sends = (flags & ClientRegionFlags.Send) != 0;
        free.Receives = (flags & ClientRegionFlags.Receive) != 0;
        free.Limiter = new ClientLimiter(limits);
        if (free.Sends)
        {
            free.Tx = region.TxReader(limits.HorizonNs);
        }
        if (free.Receives)
        {
            free.Rx = region.RxWriter();
            if (free.Rx.IsFaulted)
            {
                free.Clear();
                throw new InvalidOperationException("The client region's RX tail is not a position the engine could have written.");
            }
        }
        // Release: every field above is visible to the agent that reads Active.
        Volatile.Write(ref free.State, ClientSlotState.Active);
        RingControl();
    }

    /// <summary>
    /// Asks the agent to give a client back (conductor thread): its published records drained within
    /// <paramref name="drainTimeout"/> (and its limits) or dropped, as <paramref name="policy"/> says. Returns at once;
    /// <see cref="TryCompleteDetach"/> says when the agent is done. Asked again for a client already detaching, it only
    /// brings the drain's end forward (a drop, or a shorter drain), never back.
    /// </summary>
    /// <returns>false if the client is not attached.</returns>
    public bool BeginDetach(uint channelId, uint clientId, ClientExitPolicy policy, TimeSpan drainTimeout)
    {
        ClientSlot? slot = Find(channelId, clientId);
        if (slot is null)
        {
            return false;
        }
        long deadline = Libc.MonotonicNow() + (policy == ClientExitPolicy.Drop ? 0 : (long)drainTimeout.TotalMilliseconds * 1_000_000);
        int state = Volatile.Read(ref slot.State);
        if (state == ClientSlotState.Active)
        {
            slot.Policy = policy;
            slot.DrainDeadlineNs = deadline;
            // Release: the policy and the deadline are visible to the agent that reads DetachRequested.
            Volatile.Write(ref slot.State, ClientSlotState.DetachRequested);
        }
        else if (state == ClientSlotState.DetachRequested && deadline < Volatile.Read(ref slot.DrainDeadlineNs))
        {
            // The agent reads the deadline on every pass: an earlier one ends the drain there, what is left dropped.
            Volatile.Write(ref slot.DrainDeadlineNs, deadline);
        }
        RingControl();
        return true;
    }

    /// <summary>
    /// The client's counts and region once the agent has let go of it (conductor thread), the slot then free; null
    /// while it still drains. The region is the caller's again (to mark and unmap).
    /// </summary>
    public (ClientDetachCounts Counts, ClientRegion Region)? TryCompleteDetach(uint channelId, uint clientId)
    {
        ClientSlot? slot = Find(channelId, clientId);
        if (slot is null || Volatile.Read(ref slot.State) != ClientSlotState.Detached)
        {
            return null;
        }
        var counts = new ClientDetachCounts(slot.Drained, slot.Dropped, slot.RxUnread);
        ClientRegion region = slot.Region!;
        slot.Clear();
        Volatile.Write(ref slot.State, ClientSlotState.Free);
        return (counts, region);
    }

    /// <summary>
    /// <see cref="BeginDetach"/> and waits for it (conductor thread), up to the drain time plus
    /// <paramref name="ackTimeout"/>: for a channel that is going away, whose clients are dropped.
    /// </summary>
    /// <returns>The counts and the region; null if the client is not attached.</returns>
    /// <exception cref="TimeoutException">The agent did not answer (it is not running).</exception>
    public (ClientDetachCounts Counts, ClientRegion Region)? Detach(uint channelId, uint clientId, ClientExitPolicy policy, TimeSpan drainTimeout, TimeSpan ackTimeout)
    {
        if (!BeginDetach(channelId, clientId, policy, drainTimeout))
        {
            return null;
        }
        long limit = Libc.MonotonicNow() + (long)(drainTimeout + ackTimeout).TotalMilliseconds * 1_000_000;
        while (true)
        {
            if (TryCompleteDetach(channelId, clientId) is { } done)
            {
                return done;
            }
            if (Libc.MonotonicNow() > limit)
            {
                throw new TimeoutException($"The intake agent did not let go of client {clientId} within {(drainTimeout + ackTimeout).TotalSeconds:0.#} s.");
            }
            Thread.Sleep(1);
        }
    }

    /// <summary>The clients attached to <paramref name="channelId"/> (conductor thread).</summary>
    public IReadOnlyList<uint> ClientsOf(uint channelId)
    {
        var ids = new List<uint>();
        foreach (ClientSlot slot in _slots)
        {
            if (Volatile.Read(ref slot.State) != ClientSlotState.Free && slot.ChannelId == channelId)
            {
                ids.Add(slot.ClientId);
            }
        }
        return ids;
    }

    /// <summary>Attached clients (conductor thread).</summary>
    public int AttachedCount => _slots.Count(s => Volatile.Read(ref s.State) != ClientSlotState.Free);

    private ClientSlot? Find(uint channelId, uint clientId)
    {
        foreach (ClientSlot slot in _slots)
        {
            // Not free: attached, detaching, or detached and not yet taken back.
            if (Volatile.Read(ref slot.State) != ClientSlotState.Free && slot.ChannelId == channelId && slot.ClientId == clientId)
            {
                return slot;
            }
        }
        return null;
    }

    public void Dispose()
    {
        NativeMemory.Free(_waiters);
        NativeMemory.Free(_control);
    }
}
