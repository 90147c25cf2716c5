namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// Per-channel 64-bit counters in shared memory. Values are slot indexes; each writer's group starts
/// on a 128-byte line of its own so writers in different threads never share a line.
/// </summary>
/// <remarks>
/// Accounting invariants (exact once the channel is quiescent, approximately at any moment):
/// <c>Enqueued = Sent + DroppedLate + DroppedError + DroppedStopped + Pending</c>, where
/// <c>Pending = Enqueued - Scanned + Scheduled</c> is what the ring and the schedule hold;
/// <c>Received = Drained + RxDroppedOverflow + RxDroppedTruncated + Reflected + ReflectErrors + Buffered</c>, where
/// <c>Buffered = RxWritten - Drained</c>. Launch-time packets the qdisc later drops
/// (<see cref="LaunchMissed"/>, <see cref="LaunchInvalid"/>) are counted within Sent.
/// <see cref="RxDroppedKernel"/> is outside the sum: those datagrams were dropped by the kernel before the
/// engine read them (never received), so what reached the socket is <c>Received + RxDroppedKernel</c>.
/// Same-host clients: every record the intake agent took from a client ring is
/// <c>ClientAccepted + ClientMalformed + ClientDroppedDetach</c>; <see cref="ClientAccepted"/> is within Enqueued
/// and <see cref="ClientRxDelivered"/> within Drained.
/// </remarks>
public enum ChannelCounter
{
    // Written by producers (daemon threads, atomically).
    Enqueued = 0,
    RejectedFull = 1,

    // Written by the send worker only (slots 32-63).
    Scanned = 32,
    Scheduled = 33,
    Sent = 34,
    Late = 35,
    DroppedLate = 36,
    DroppedError = 37,
    DroppedStopped = 38,

    /// <summary>sendmmsg calls made (SendBatchPackets / SendCalls is the mean batch).</summary>
    SendCalls = 39,

    /// <summary>Packets the successful sendmmsg calls carried.</summary>
    SendBatchPackets = 40,
    TxReportsLost = 41,
    SendWaits = 42,

    /// <summary>
    /// Seconds in which a SCHED_FIFO hybrid worker used up its spin budget and fell back to sleeping to the packet's
    /// time, or a busy-polling one (receive strategy busy-poll) its busy-poll budget and parked on the TX ring.
    /// </summary>
    SpinBudgetExhausted = 43,

    /// <summary>Packets stamped by the TX stamps taken from the error queue, by stage (a GSO train's one stamp counts for each of its packets).</summary>
    TxStampsSched = 44,
    TxStampsSoftware = 45,
    TxStampsHardware = 46,

    /// <summary>Packets whose expected kernel stamp never came within the timeout (hardware stamps may never come).</summary>
    TxStampsMissing = 47,

    /// <summary>Stamps whose OPT_ID matched no packet awaiting one.</summary>
    TxStampsUnmatched = 48,

    /// <summary>Packets sent while the table of packets awaiting stamps was full (their latency uses the worker's clock).</summary>
    TxStampsUntracked = 49,

    /// <summary>Which clock each send-error sample came from.</summary>
    SendErrorFromHardware = 50,
    SendErrorFromSoftware = 51,
    SendErrorFromWorker = 52,

    /// <summary>Launch time: packets the qdisc rejected (invalid time) or dropped (missed their time), from the error queue.</summary>
    LaunchInvalid = 53,
    LaunchMissed = 54,

    /// <summary>Launch time: packets whose time was earlier than one already handed to the kernel; sent at that later time instead.</summary>
    LaunchReordered = 55,

    /// <summary>Error-queue reports that are neither stamps, launch-time errors nor network errors (ICMP, counted apart), counted by errno in the send errno table too.</summary>
    ErrorQueueErrors = 56,

    /// <summary>Sequenced channel: packets sent without a flow header because their payload was shorter than it.</summary>
    FlowHeaderTooShort = 57,

    /// <summary>Sequenced channel: the sequence number the next flow header will carry (kept across a stop and start).</summary>
    FlowNextSequence = 58,

    /// <summary>Packets the send worker took from the TX ring after their due time: late before the engine had them.</summary>
    ArrivedLate = 59,

    /// <summary>
    /// Send calls made again for the same packet because the failed call reported a network error that belongs
    /// to a packet sent earlier (an ICMP error the kernel keeps for the next send: ECONNREFUSED, EHOSTUNREACH,
    /// ENETUNREACH, EHOSTDOWN, ...). The kernel clears the error as it reports it, so the packet goes out.
    /// </summary>
    ResentAfterNetworkError = 60,

    /// <summary>Network errors (ICMP, from the error queue) matched to the one recent packet whose head they quote.</summary>
    NetworkErrorsExact = 61,

    /// <summary>Network errors matched to no packet sent recently (too old, or the quote matched none).</summary>
    NetworkErrorsUnattributed = 62,

    /// <summary>A gauge: the path MTU the kernel reported at the last EMSGSIZE (0: none yet).</summary>
    PathMtu = 63,

    // Written by the receive worker only (slots 64-95).

    /// <summary>Packets read from the socket (a coalesced GRO datagram counts as the packets it holds).</summary>
    Received = 64,
    RxWritten = 65,
    RxDroppedOverflow = 66,
    RxDroppedTruncated = 67,
    RxCalls = 68,
    RxMissingTimestamp = 69,
    RxStampsSoftware = 70,
    RxStampsHardware = 71,

    /// <summary>Sequenced channel: datagrams with a valid flow header (their flows' state is in the flow table).</summary>
    FlowPackets = 72,

    /// <summary>Sequenced channel: datagrams without one (too short, other magic or version).</summary>
    FlowBadHeader = 73,

    /// <summary>Datagrams of flows beyond the flow table's 16 (latency recorded; no sequence accounting or jitter).</summary>
    FlowUntracked = 74,

    /// <summary>Datagrams whose sender's clock does not compare with ours (monotonic from another host or boot): no latency sample.</summary>
    FlowClockUnsynced = 75,

    /// <summary>Reflector: datagrams sent back to their source.</summary>
    Reflected = 76,

    /// <summary>Reflector: datagrams that could not be sent back (by errno in the receive errno table).</summary>
    ReflectErrors = 77,

    /// <summary>
    /// Datagrams dropped by the kernel before the engine read them (the socket's sk_drops: mostly a full
    /// receive queue, SO_RCVBUF, while the worker was behind). Not within Received.
    /// </summary>
    RxDroppedKernel = 78,

    /// <summary>GRO: coalesced datagrams read (one recvmmsg slot carrying more than one packet).</summary>
    RxCoalesced = 79,

    /// <summary>GRO: packets split out of coalesced datagrams (within <see cref="Received"/>).</summary>
    RxCoalescedPackets = 80,

    /// <summary>Busy-poll: reads that found datagrams while the worker spun (no poll sleep before them).</summary>
    RxBusyPollHits = 81,

    /// <summary>Busy-poll: seconds in which the worker's busy-poll budget ran out (at SCHED_FIFO) and it waited in poll until the second ended.</summary>
    RxBusyPollBudgetExhausted = 82,

    /// <summary>xdp: frames steered to the channel's AF_XDP socket that were no valid UDP datagram for it (dropped; within <see cref="Received"/>).</summary>
    RxXdpRejected = 83,

    /// <summary>xdp: of <see cref="RxXdpRejected"/>, those with a wrong IPv4 header or UDP checksum.</summary>
    RxXdpBadChecksum = 84,

    /// <summary>xdp: datagrams for the channel that arrived on another queue and came through the kernel's stack to its UDP socket (delivered; within <see cref="Received"/>).</summary>
    RxXdpViaKernel = 85,

    // Written by the drainer (daemon).
    Drained = 96,

    // Written by the send worker only, network errors (slots 128-159).

    /// <summary>ICMP port unreachable (ECONNREFUSED): the packet reached its host, where nothing listens on the port.</summary>
    NetworkRefused = 128,

    /// <summary>ICMP host unreachable (EHOSTUNREACH), also the local host's own when its neighbour (ARP/NDP) never answered.</summary>
    NetworkHostUnreachable = 129,

    /// <summary>ICMP network unreachable (ENETUNREACH): a router had no route.</summary>
    NetworkNetUnreachable = 130,

    /// <summary>ICMP host unknown (EHOSTDOWN).</summary>
    NetworkHostDown = 131,

    /// <summary>ICMP fragmentation needed / packet too big (EMSGSIZE): a router's MTU was below the packet.</summary>
    NetworkTooBig = 132,

    /// <summary>Other ICMP errors (time exceeded, parameter problem, protocol unreachable, ...).</summary>
    NetworkOther = 133,

    /// <summary>Network errors matched among recent packets with the same head, to the oldest not yet matched.</summary>
    NetworkErrorsByOrder = 134,

    /// <summary>Packets dropped because their send failed with a network error again after every resend (within <see cref="TxOutcome.DroppedError"/>).</summary>
    DroppedAfterResends = 135,

    /// <summary>Packets dropped because they were larger than the path MTU with fragmentation off (EMSGSIZE; within <see cref="TxOutcome.DroppedError"/>).</summary>
    DroppedTooBig = 136,

    // Written by the send worker only, lateness and GSO trains (slots 144-159).

    /// <summary>
    /// Packets that reached the send worker in time but were sent or dropped late: the engine's lateness (the
    /// host's scheduling), where <see cref="ArrivedLate"/> is the way to the engine's. Within <see cref="Late"/>
    /// and <see cref="DroppedLate"/>.
    /// </summary>
    LateInEngine = 144,

    /// <summary>GSO: trains sent (datagrams with a UDP_SEGMENT control message carrying more than one packet; a send call may carry several).</summary>
    GsoTrains = 145,

    /// <summary>GSO: packets sent in trains (within <see cref="Sent"/>; SendBatchPackets counts them too).</summary>
    GsoTrainPackets = 146,

    /// <summary>GSO: trains the kernel refused (the channel fell back to sendmmsg; their packets were sent again one by one).</summary>
    GsoRefused = 147,

    /// <summary>xdp: batches that found no free frame or TX ring slot and waited for the device to finish earlier frames.</summary>
    TxXdpRingFullWaits = 148,

    /// <summary>
    /// A gauge: packets handed to the kernel in the send call under way and not yet counted (set before each
    /// transmit, back to 0 once its outcomes are published). An engine killed in between leaves it non-zero: of
    /// the packets rtudpd then counts as queued and never sent, up to this many may have left.
    /// </summary>
    TxInSendCall = 149,

    // Written by the client intake agent only, same-host clients over shared memory (slots 160-175, docs/shm-clients.md).

    /// <summary>Packets taken from client rings into the TX ring (within <see cref="Enqueued"/>).</summary>
    ClientAccepted = 160,

    /// <summary>Client TX records that framed correctly but were not acceptable packets: skipped.</summary>
    ClientMalformed = 161,

    /// <summary>Client packets that waited in their ring for a limit (each counted once).</summary>
    ClientThrottled = 162,

    /// <summary>Published client packets dropped at detach (policy drop, or a drain that ran out of time).</summary>
    ClientDroppedDetach = 163,

    /// <summary>Client rings found corrupt (the client faulted; its ring is read no more).</summary>
    ClientFaults = 164,

    /// <summary>Packets the agent moved from the RX ring into a client's RX ring (within <see cref="Drained"/>).</summary>
    ClientRxDelivered = 165,

    /// <summary>Packets in client RX rings that their client never read before it detached.</summary>
    ClientRxUnreadDetach = 166,

    /// <summary>A gauge: same-host clients attached to the channel.</summary>
    ClientsAttached = 167,
}

/// <summary>Per-worker health in shared memory, written by each worker, read by the daemon's watchdog.</summary>
public enum WorkerHealthField
{
    /// <summary>Incremented on every pass of the worker's loop (at least every 100 ms, even idle).</summary>
    Heartbeat = 0,

    /// <summary>CLOCK_MONOTONIC of the last heartbeat.</summary>
    HeartbeatTimeNs = 1,

    /// <summary><see cref="WorkerState"/>.</summary>
    State = 2,

    /// <summary><see cref="RealtimeMode"/> flags in effect.</summary>
    RealtimeMode = 3,

    /// <summary>Linux thread id.</summary>
    ThreadId = 4,

    /// <summary>CPU the worker last ran on.</summary>
    Cpu = 5,

    /// <summary>errno of the last failed real-time setup step (0 if none).</summary>
    SetupErrno = 6,
}

public enum WorkerState
{
    NotStarted = 0,
    Running = 1,
    Stopped = 2,
    Failed = 3,
}
