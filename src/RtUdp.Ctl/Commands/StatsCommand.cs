using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl stats NAME: the channel's accounting, workers and non-zero counters.</summary>
internal static class StatsCommand
{
    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        var command = new Command("stats", "A channel's counters: TX/RX accounting, workers, latency summary") { name };
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            ChannelStats stats = await client.GetStatsAsync(parse.GetValue(name)!, cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Pretty(stats));
                return ExitCodes.Ok;
            }
            Console.Write(Render(stats));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static string Render(ChannelStats s)
    {
        var text = new System.Text.StringBuilder();
        text.Append($"{s.Channel}  {Text.Name(s.State)}\n");
        TxAccounting tx = s.Tx ?? new TxAccounting();
        RxAccounting rx = s.Rx ?? new RxAccounting();
        var accounting = new Table("SIDE", "IN", "OUT", "DROPPED", "PENDING", "LATE", "REJECTED", "BALANCED");
        accounting.Add("tx", tx.Enqueued, tx.Sent, tx.DroppedLate + tx.DroppedError + tx.DroppedStopped, tx.Pending, tx.Late, tx.RejectedFull, tx.Balanced);
        accounting.Add("rx", rx.Received, rx.Drained, rx.DroppedOverflow + rx.DroppedTruncated, rx.Buffered, "-", "-", rx.Balanced);
        text.Append(accounting);
        text.Append($"tx late: sent late {tx.Late}; arrived late at the engine {tx.ArrivedLate} (the way to the engine: client, network, daemon); late in the engine {tx.LateInEngine} (arrived in time, sent or dropped late: the host's scheduling)\n");
        text.Append($"tx dropped: late {tx.DroppedLate}, error {tx.DroppedError}, stopped {tx.DroppedStopped}; rx dropped: overflow {rx.DroppedOverflow}, truncated {rx.DroppedTruncated}; dropped by the kernel before the engine read them (outside received): {rx.DroppedKernel}\n");
        text.Append($"send error: {s.SendErrorCount} samples, max {Text.Ns(s.SendErrorMaxNs)}; delivery: {s.DeliveryCount} samples, max {Text.Ns(s.DeliveryMaxNs)}\n");
        if (s.FlowTotals is { } f && (f.Packets != 0 || f.BadHeader != 0 || f.HeaderTooShort != 0))
        {
            text.Append($"flows: packets {f.Packets}, unique {f.Unique}, lost {f.Lost}, duplicates {f.Duplicates}, reordered {f.Reordered}, stale {f.Stale}, bad header {f.BadHeader}, untracked {f.Untracked}\n");
            var flows = new Table("FLOW", "RECEIVED", "UNIQUE", "EXPECTED", "LOST", "DUP", "REORDERED", "JITTER", "LAST-LATENCY", "KIND");
            foreach (FlowStats flow in s.Flows)
            {
                flows.Add(flow.FlowId, flow.Received, flow.Unique, flow.Expected, flow.Lost, flow.Duplicates, flow.Reordered, Text.Ns(flow.JitterNs), Text.Ns(flow.LastLatencyNs), flow.LatencyKind);
            }
            if (flows.RowCount > 0)
            {
                text.Append(flows);
            }
        }
        if (s.TxNetwork is { } n && (n.Refused + n.HostUnreachable + n.NetUnreachable + n.HostDown + n.TooBig + n.Other + n.Resent + n.DroppedAfterResends + n.DroppedTooBig) != 0)
        {
            // Errors the network sent back for packets that left, then what the sends did about them.
            text.Append($"network errors (ICMP, for packets sent): refused {n.Refused}, host unreachable {n.HostUnreachable}, net unreachable {n.NetUnreachable}, host down {n.HostDown}, too big {n.TooBig}, other {n.Other}; matched exactly {n.Exact}, by order {n.ByOrder}, to none {n.Unattributed}\n");
            text.Append($"network errors at send: resent {n.Resent}; dropped after resends {n.DroppedAfterResends}, too big {n.DroppedTooBig}" + (n.PathMtu > 0 ? $" (path MTU {n.PathMtu})" : "") + "\n");
        }
        if (rx.Reflected != 0 || rx.ReflectErrors != 0)
        {
            text.Append($"reflected {rx.Reflected}, reflect errors {rx.ReflectErrors}\n");
        }
        long Counter(string name) => s.Counters.TryGetValue(name, out long value) ? value : 0;
        if (Counter("gso_trains") != 0 || Counter("gso_refused") != 0)
        {
            text.Append($"gso: {Counter("gso_trains")} trains carried {Counter("gso_train_packets")} packets; refused {Counter("gso_refused")}\n");
        }
        if (Counter("rx_coalesced") != 0 || Counter("rx_busy_poll_hits") != 0)
        {
            text.Append($"rx: {Counter("rx_coalesced")} coalesced reads carried {Counter("rx_coalesced_packets")} packets (gro); busy-poll hits {Counter("rx_busy_poll_hits")}, budget spent {Counter("rx_busy_poll_budget_exhausted")}s\n");
        }
        var workers = new Table("WORKER", "STATE", "REALTIME", "CPU", "TID", "HEARTBEAT", "SETUP-ERRNO");
        foreach ((string side, WorkerHealth? w) in new[] { ("sender", s.Sender), ("receiver", s.Receiver) })
        {
            if (w is not null && w.State != WorkerState.Unspecified)
            {
                workers.Add(side, w.State, w.RealtimeMode, w.Cpu, w.ThreadId, w.Heartbeat, w.SetupErrno);
            }
        }
        if (workers.RowCount > 0)
        {
            text.Append(workers);
        }
        foreach ((string title, IDictionary<int, long> errnos) in new[] { ("send errnos", (IDictionary<int, long>)s.SendErrnos), ("receive errnos", s.ReceiveErrnos) })
        {
            if (errnos.Count > 0)
            {
                text.Append(title).Append(": ").Append(string.Join(", ", errnos.OrderBy(e => e.Key).Select(e => $"{e.Key}×{e.Value}"))).Append('\n');
            }
        }
        var counters = new Table("COUNTER", "VALUE");
        foreach ((string counter, long value) in s.Counters.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            counters.Add(counter, value);
        }
        if (counters.RowCount > 0)
        {
            text.Append(counters);
        }
        return text.ToString();
    }
}
