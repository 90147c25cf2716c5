using RtUdp.Core.Contract.Channels;
using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Metrics;

/// <summary>
/// Which Prometheus counter (and extra label) each engine <see cref="ChannelCounter"/> is exported as.
/// Every counter is, except the ring positions behind the pending and buffered gauges: those without a
/// dedicated metric yet (a counter added to the engine later) as <c>rtudp_{snake_case_name}_total</c>.
/// </summary>
internal static class ChannelCounterMetrics
{
    /// <summary>A metric name (with _total), its help, and the extra label (name, value) that tells its counters apart, if any.</summary>
    public sealed record Metric(string Name, string Help, string? LabelName = null);

    public static readonly Metric TxEnqueued = new("rtudp_tx_enqueued_packets_total", "Packets accepted into the channel's TX ring.");
    public static readonly Metric TxRejected = new("rtudp_tx_rejected_packets_total", "Packets refused at enqueue because the TX ring was full (not in enqueued).");
    public static readonly Metric TxSent = new("rtudp_tx_sent_packets_total", "Packets handed to the kernel.");
    public static readonly Metric TxDropped = new("rtudp_tx_dropped_packets_total", "Enqueued packets not sent, by reason: late (late policy), error (send failed), stopped (channel stopped or deleted).", "reason");
    public static readonly Metric TxLate = new("rtudp_tx_late_packets_total", "Packets sent later than the late tolerance (counted within sent).");
    public static readonly Metric TxArrivedLate = new("rtudp_tx_arrived_late_packets_total", "Scheduled packets that reached the send worker after their due time (plus the late tolerance): late before the engine had them, unlike those it sent late.");
    public static readonly Metric TxLateInEngine = new("rtudp_tx_late_in_engine_packets_total", "Packets that reached the send worker in time but were sent or dropped late: the engine's (host scheduling) lateness, not the way to the engine's.");
    public static readonly Metric TxSendCalls = new("rtudp_tx_send_calls_total", "sendmmsg calls made.");
    public static readonly Metric TxBatched = new("rtudp_tx_send_call_packets_total", "Packets carried by successful sendmmsg calls (divided by send calls: the mean batch).");
    public static readonly Metric TxSendWaits = new("rtudp_tx_send_waits_total", "Times the send worker parked waiting for work or for its next packet's time.");
    public static readonly Metric TxReportsLost = new("rtudp_tx_reports_lost_total", "Per-packet send reports lost because the report ring was full.");
    public static readonly Metric TxSpinBudget = new("rtudp_tx_spin_budget_exhausted_seconds_total", "Seconds in which a SCHED_FIFO hybrid worker used up its spin budget and slept instead.");
    public static readonly Metric TxStamps = new("rtudp_tx_stamps_total", "Packets stamped by the TX timestamps taken from the error queue, by stage (sched, software, hardware; a GSO train's stamp counts for each of its packets).", "stage");
    public static readonly Metric TxStampsMissing = new("rtudp_tx_stamps_missing_total", "Packets whose expected kernel TX stamp never came within the timeout.");
    public static readonly Metric TxStampsUnmatched = new("rtudp_tx_stamps_unmatched_total", "TX stamps that matched no packet awaiting one.");
    public static readonly Metric TxStampsUntracked = new("rtudp_tx_stamps_untracked_total", "Packets sent while the table awaiting stamps was full (latency from the worker's clock).");
    public static readonly Metric TxSendErrorSource = new("rtudp_tx_send_error_samples_total", "Send-error samples by the clock they came from (hardware, software, worker).", "source");
    public static readonly Metric TxLaunchFailed = new("rtudp_tx_launch_failures_total", "Launch time: packets the qdisc rejected (invalid) or dropped (missed), counted within sent.", "reason");
    public static readonly Metric TxLaunchReordered = new("rtudp_tx_launch_reordered_total", "Launch time: packets sent at a later time than theirs to keep the kernel's order.");
    public static readonly Metric TxErrorQueue = new("rtudp_tx_error_queue_errors_total", "Other error-queue reports (not stamps, launch-time errors or ICMP network errors, which are counted apart).");
    public static readonly Metric TxNetworkErrors = new("rtudp_tx_network_errors_total", "ICMP errors for packets already sent, by kind (refused, host_unreachable, net_unreachable, host_down, too_big, other).", "kind");
    public static readonly Metric TxNetworkAttribution = new("rtudp_tx_network_error_attributions_total", "ICMP errors by how they were matched to their packet: exact, by_order (among packets with the same head), none.", "attribution");
    public static readonly Metric TxResent = new("rtudp_tx_resent_after_network_error_total", "Send calls made again for their own packet because they returned an earlier packet's network error.");
    public static readonly Metric TxDroppedNetwork = new("rtudp_tx_dropped_network_packets_total", "Packets dropped for a network error (within dropped reason=error): after_resends (the route is gone), too_big (larger than the path MTU with don't-fragment).", "reason");
    public static readonly Metric TxGsoTrains = new("rtudp_tx_gso_trains_total", "Send calls that carried a UDP GSO train (more than one packet in one UDP_SEGMENT datagram).");
    public static readonly Metric TxGsoTrainPackets = new("rtudp_tx_gso_train_packets_total", "Packets sent in UDP GSO trains (within sent).");
    public static readonly Metric TxGsoRefused = new("rtudp_tx_gso_refused_total", "UDP GSO trains the kernel refused: the channel fell back to sendmmsg and sent their packets one by one.");
    public static readonly Metric RxCoalesced = new("rtudp_rx_coalesced_datagrams_total", "GRO: coalesced datagrams read (carrying more than one packet).");
    public static readonly Metric RxCoalescedPackets = new("rtudp_rx_coalesced_packets_total", "GRO: packets split out of coalesced datagrams (within received).");
    public static readonly Metric RxBusyPollHits = new("rtudp_rx_busy_poll_hits_total", "Busy-poll: reads that found datagrams while the receive worker spun, without a poll sleep.");
    public static readonly Metric RxBusyPollBudget = new("rtudp_rx_busy_poll_budget_exhausted_total", "Busy-poll: spins given up for poll because the SCHED_FIFO spin budget of the second was spent.");
    public static readonly Metric RxXdpRejected = new("rtudp_rx_xdp_rejected_frames_total", "xdp: frames steered to the channel's AF_XDP socket that were no valid UDP datagram for it (dropped, within received).");
    public static readonly Metric RxXdpBadChecksum = new("rtudp_rx_xdp_bad_checksum_frames_total", "xdp: rejected frames with a wrong IPv4 header or UDP checksum (within xdp rejected).");
    public static readonly Metric RxXdpViaKernel = new("rtudp_rx_xdp_via_kernel_packets_total", "xdp: datagrams for the channel that arrived on another queue and came through the kernel's UDP socket (delivered, within received).");
    public static readonly Metric TxXdpRingFullWaits = new("rtudp_tx_xdp_ring_full_waits_total", "xdp: send batches that found no free frame or TX ring slot and waited for the device to finish earlier frames.");
    public static readonly Metric TxClientAccepted = new("rtudp_tx_client_accepted_packets_total", "Same-host clients: packets taken from client rings into the TX ring (within enqueued).");
    public static readonly Metric TxClientMalformed = new("rtudp_tx_client_malformed_records_total", "Same-host clients: ring records that framed but were not acceptable packets (skipped).");
    public static readonly Metric TxClientThrottled = new("rtudp_tx_client_throttled_packets_total", "Same-host clients: packets that waited in their ring for a limit (back-pressure; each counted once).");
    public static readonly Metric TxClientDroppedDetach = new("rtudp_tx_client_dropped_detach_packets_total", "Same-host clients: published packets dropped when their client detached.");
    public static readonly Metric ClientFaults = new("rtudp_client_faults_total", "Same-host clients whose ring the engine found corrupt (faulted, read no more).");
    public static readonly Metric RxClientDelivered = new("rtudp_rx_client_delivered_packets_total", "Same-host clients: received packets written into client RX rings (within drained).");
    public static readonly Metric RxClientUnreadDetach = new("rtudp_rx_client_unread_detach_packets_total", "Same-host clients: packets in a client's RX ring it never read before it detached.");
    public static readonly Metric RxReceived = new("rtudp_rx_received_packets_total", "Packets received from the socket.");
    public static readonly Metric RxDrained = new("rtudp_rx_drained_packets_total", "Received packets taken from the RX ring by clients.");
    public static readonly Metric RxDropped = new("rtudp_rx_dropped_packets_total", "Datagrams dropped, by reason: overflow (RX ring full), truncated (larger than max_payload), kernel_queue (dropped by the kernel before the engine read them, not within received).", "reason");
    public static readonly Metric RxCalls = new("rtudp_rx_receive_calls_total", "recvmmsg calls made.");
    public static readonly Metric RxMissingStamp = new("rtudp_rx_missing_timestamp_packets_total", "Received packets without the expected kernel timestamp.");
    public static readonly Metric RxStamps = new("rtudp_rx_stamps_total", "RX timestamps by source (software, hardware).", "source");

    /// <summary>The send errno table (rtudp_tx_errors_total) and the receive one, labelled errno="11".</summary>
    public static readonly Metric TxErrnos = new("rtudp_tx_errors_total", "Send errors by errno.", "errno");
    public static readonly Metric RxErrnos = new("rtudp_rx_errors_total", "Receive errors by errno.", "errno");

    /// <summary>
    /// Counters behind the gauges (pending = enqueued - scanned + scheduled, buffered = written - drained), not
    /// exported themselves, and slots that are gauges (the path MTU, the next flow sequence), exported as gauges.
    /// </summary>
    public static readonly IReadOnlySet<ChannelCounter> Internal = new HashSet<ChannelCounter> { ChannelCounter.Scanned, ChannelCounter.Scheduled, ChannelCounter.RxWritten, ChannelCounter.PathMtu, ChannelCounter.ClientsAttached, ChannelCounter.TxInSendCall };

    public static readonly IReadOnlyDictionary<ChannelCounter, (Metric Metric, string? LabelValue)> ByCounter = new Dictionary<ChannelCounter, (Metric, string?)>
    {
        [ChannelCounter.Enqueued] = (TxEnqueued, null),
        [ChannelCounter.RejectedFull] = (TxRejected, null),
        [ChannelCounter.Sent] = (TxSent, null),
        [ChannelCounter.Late] = (TxLate, null),
        [ChannelCounter.DroppedLate] = (TxDropped, "late"),
        [ChannelCounter.DroppedError] = (TxDropped, "error"),
        [ChannelCounter.DroppedStopped] = (TxDropped, "stopped"),
        [ChannelCounter.ArrivedLate] = (TxArrivedLate, null),
        [ChannelCounter.LateInEngine] = (TxLateInEngine, null),
        [ChannelCounter.SendCalls] = (TxSendCalls, null),
        [ChannelCounter.SendBatchPackets] = (TxBatched, null),
        [ChannelCounter.TxReportsLost] = (TxReportsLost, null),
        [ChannelCounter.SendWaits] = (TxSendWaits, null),
        [ChannelCounter.SpinBudgetExhausted] = (TxSpinBudget, null),
        [ChannelCounter.TxStampsSched] = (TxStamps, "sched"),
        [ChannelCounter.TxStampsSoftware] = (TxStamps, "software"),
        [ChannelCounter.TxStampsHardware] = (TxStamps, "hardware"),
        [ChannelCounter.TxStampsMissing] = (TxStampsMissing, null),
        [ChannelCounter.TxStampsUnmatched] = (TxStampsUnmatched, null),
        [ChannelCounter.TxStampsUntracked] = (TxStampsUntracked, null),
        [ChannelCounter.SendErrorFromHardware] = (TxSendErrorSource, "hardware"),
        [ChannelCounter.SendErrorFromSoftware] = (TxSendErrorSource, "software"),
        [ChannelCounter.SendErrorFromWorker] = (TxSendErrorSource, "worker"),
        [ChannelCounter.LaunchInvalid] = (TxLaunchFailed, "invalid"),
        [ChannelCounter.LaunchMissed] = (TxLaunchFailed, "missed"),
        [ChannelCounter.LaunchReordered] = (TxLaunchReordered, null),
        [ChannelCounter.ErrorQueueErrors] = (TxErrorQueue, null),
        [ChannelCounter.NetworkRefused] = (TxNetworkErrors, "refused"),
        [ChannelCounter.NetworkHostUnreachable] = (TxNetworkErrors, "host_unreachable"),
        [ChannelCounter.NetworkNetUnreachable] = (TxNetworkErrors, "net_unreachable"),
        [ChannelCounter.NetworkHostDown] = (TxNetworkErrors, "host_down"),
        [ChannelCounter.NetworkTooBig] = (TxNetworkErrors, "too_big"),
        [ChannelCounter.NetworkOther] = (TxNetworkErrors, "other"),
        [ChannelCounter.NetworkErrorsExact] = (TxNetworkAttribution, "exact"),
        [ChannelCounter.NetworkErrorsByOrder] = (TxNetworkAttribution, "by_order"),
        [ChannelCounter.NetworkErrorsUnattributed] = (TxNetworkAttribution, "none"),
        [ChannelCounter.ResentAfterNetworkError] = (TxResent, null),
        [ChannelCounter.DroppedAfterResends] = (TxDroppedNetwork, "after_resends"),
        [ChannelCounter.DroppedTooBig] = (TxDroppedNetwork, "too_big"),
        [ChannelCounter.GsoTrains] = (TxGsoTrains, null),
        [ChannelCounter.GsoTrainPackets] = (TxGsoTrainPackets, null),
        [ChannelCounter.GsoRefused] = (TxGsoRefused, null),
        [ChannelCounter.RxCoalesced] = (RxCoalesced, null),
        [ChannelCounter.RxCoalescedPackets] = (RxCoalescedPackets, null),
        [ChannelCounter.RxBusyPollHits] = (RxBusyPollHits, null),
        [ChannelCounter.RxBusyPollBudgetExhausted] = (RxBusyPollBudget, null),
        [ChannelCounter.RxXdpRejected] = (RxXdpRejected, null),
        [ChannelCounter.RxXdpBadChecksum] = (RxXdpBadChecksum, null),
        [ChannelCounter.RxXdpViaKernel] = (RxXdpViaKernel, null),
        [ChannelCounter.TxXdpRingFullWaits] = (TxXdpRingFullWaits, null),
        [ChannelCounter.Received] = (RxReceived, null),
        [ChannelCounter.RxDroppedOverflow] = (RxDropped, "overflow"),
        [ChannelCounter.RxDroppedTruncated] = (RxDropped, "truncated"),
        [ChannelCounter.RxDroppedKernel] = (RxDropped, "kernel_queue"),
        [ChannelCounter.RxCalls] = (RxCalls, null),
        [ChannelCounter.RxMissingTimestamp] = (RxMissingStamp, null),
        [ChannelCounter.RxStampsSoftware] = (RxStamps, "software"),
        [ChannelCounter.RxStampsHardware] = (RxStamps, "hardware"),
        [ChannelCounter.Drained] = (RxDrained, null),
        [ChannelCounter.ClientAccepted] = (TxClientAccepted, null),
        [ChannelCounter.ClientMalformed] = (TxClientMalformed, null),
        [ChannelCounter.ClientThrottled] = (TxClientThrottled, null),
        [ChannelCounter.ClientDroppedDetach] = (TxClientDroppedDetach, null),
        [ChannelCounter.ClientFaults] = (ClientFaults, null),
        [ChannelCounter.ClientRxDelivered] = (RxClientDelivered, null),
        [ChannelCounter.ClientRxUnreadDetach] = (RxClientUnreadDetach, null),
    };

    /// <summary>The metric (and label value) <paramref name="counter"/> is exported as; null for the internal ones.</summary>
    public static (Metric Metric, string? LabelValue)? For(ChannelCounter counter) =>
        ByCounter.TryGetValue(counter, out (Metric, string?) m) ? m
        : Internal.Contains(counter) ? null
        : (Fallbacks[counter], null);

    private static readonly Dictionary<ChannelCounter, Metric> Fallbacks = Enum.GetValues<ChannelCounter>()
        .Where(c => !ByCounter.ContainsKey(c) && !Internal.Contains(c))
        .ToDictionary(c => c, c => new Metric($"rtudp_{SnakeCase.FromPascal(c.ToString())}_total", $"The engine's {c} counter."));

    /// <summary>Every metric, once.</summary>
    public static IEnumerable<Metric> All => ByCounter.Values.Select(v => v.Metric).Concat(Fallbacks.Values).Append(TxErrnos).Append(RxErrnos).Distinct();
}
