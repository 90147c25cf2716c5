using RtUdp.Core.Contract.Channels;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// The accounting invariant over gRPC, asserted at the end of every reliability test: on every channel
/// the sums of <see cref="ChannelAccounting"/> (the engine's and the daemon's own definition) hold,
/// computed here from the figures (not only the daemon's "balanced" flag). A snapshot taken while a
/// worker updates two counters one after the other may be off by the packets in flight, so it waits
/// (bounded) for one that balances.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public static class DaemonAccounting
{
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    public static TxBalance Tx(TxAccounting t) => new(t.Enqueued, t.Sent, t.DroppedLate, t.DroppedError, t.DroppedStopped, t.Pending);

    public static RxBalance Rx(RxAccounting r) => new(r.Received, r.Drained, r.DroppedOverflow, r.DroppedTruncated, r.Reflected, r.ReflectErrors, r.Buffered);

    public static long TxUncounted(TxAccounting t) => Tx(t).Uncounted;

    public static long RxUncounted(RxAccounting r) => Rx(r).Uncounted;

    /// <summary>Waits for a snapshot of each channel whose sums hold; returns the last snapshots.</summary>
    public static async Task<ChannelStats[]> AssertBalancedAsync(Clients api, params string[] names)
    {
        var result = new ChannelStats[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew(); // monotonic: a wall-clock step does not move it
            while (true)
            {
                ChannelStats stats = (await api.Stats.GetStatsAsync(new GetStatsRequest { Name = names[i] })).Stats;
                if (TxUncounted(stats.Tx) == 0 && RxUncounted(stats.Rx) == 0 && stats.Tx.Balanced && stats.Rx.Balanced)
                {
                    result[i] = stats;
                    break;
                }
                Assert.True(clock.Elapsed < Settle, $"accounting of {names[i]} never balanced (tx off by {TxUncounted(stats.Tx)}, rx off by {RxUncounted(stats.Rx)}): {stats}");
                await Task.Delay(10);
            }
        }
        return result;
    }

    /// <summary>A deleted channel's final counters: everything enqueued was sent or dropped with a reason, everything received drained or dropped.</summary>
    public static void AssertFinalBalanced(DeleteChannelResponse deleted)
    {
        long C(string key) => deleted.FinalCounters.GetValueOrDefault(key);
        // Deleted: nothing is pending (the engine counted it dropped_stopped), and what was buffered went
        // with the RX ring (rx_dropped_stopped).
        var tx = new TxBalance(C("enqueued"), C("sent"), C("dropped_late"), C("dropped_error"), C("dropped_stopped"), Pending: 0);
        var rx = new RxBalance(C("received"), C("drained"), C("rx_dropped_overflow"), C("rx_dropped_truncated"), C("reflected"), C("reflect_errors"), Buffered: C("rx_dropped_stopped"));
        Assert.True(tx.Balanced, $"final TX counters do not balance (off by {tx.Uncounted}): {deleted}");
        Assert.True(rx.Balanced, $"final RX counters do not balance (off by {rx.Uncounted}): {deleted}");
    }

    /// <summary>Deletes the channels, asserting each one's final counters balance.</summary>
    public static async Task DeleteBalancedAsync(Clients api, params string[] names)
    {
        foreach (string name in names)
        {
            AssertFinalBalanced(await api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = name }));
        }
    }
}
