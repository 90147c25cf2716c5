using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Accounting checks shared by the integration tests: every packet is sent, dropped (counted, with
/// a reason) or still held, never lost silently.
/// </summary>
public static class Accounting
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Asserts enqueued = sent + dropped + pending on every sending channel and
    /// received = drained + dropped + buffered on every receiving one. The workers update related
    /// counters one after the other, so a snapshot taken mid-update may be off by the packets in
    /// flight: the check waits (bounded) for a snapshot that balances, which a quiescent channel
    /// gives at once.
    /// </summary>
    public static void AssertBalanced(params ChannelHandle[] channels)
    {
        foreach (ChannelHandle channel in channels)
        {
            if (channel.Config.Sends)
            {
                Wait.Until(() => channel.ReadStats().TxBalanced, Settle, () => $"TX accounting of channel {channel.Id} ({channel.Config.Name}) to balance: {Describe(channel.ReadStats())}");
            }
            if (channel.Config.Receives)
            {
                Wait.Until(() => channel.ReadStats().RxBalanced, Settle, () => $"RX accounting of channel {channel.Id} ({channel.Config.Name}) to balance: {Describe(channel.ReadStats())}");
            }
        }
    }

    /// <summary>Waits until the send worker has finished (sent or dropped) <paramref name="packets"/> packets.</summary>
    public static ChannelStats WaitFinished(ChannelHandle tx, long packets, TimeSpan? timeout = null)
    {
        Wait.Until(
            () =>
            {
                ChannelStats s = tx.ReadStats();
                return s[ChannelCounter.Sent] + s.TxDropped >= packets;
            },
            timeout ?? Settle,
            () => $"{packets} packets finished on channel {tx.Id}: {Describe(tx.ReadStats())}");
        return tx.ReadStats();
    }

    /// <summary>
    /// Waits until the receive worker has read its socket empty: a whole pass of its loop (between
    /// two heartbeats) that received nothing. Call it after the sender has finished, so nothing
    /// else can arrive; the receive counters are then final.
    /// </summary>
    public static void WaitReceiverIdle(ChannelHandle rx, TimeSpan? timeout = null)
    {
        long beat = Volatile.Read(ref rx.Region.Health(sendWorker: false, WorkerHealthField.Heartbeat));
        long received = rx.Region.Read(ChannelCounter.Received);
        Wait.Until(
            () =>
            {
                // Heartbeat first: a pass that began after the first read and ended before the
                // second beat had any batch it read counted by then.
                long nowBeat = Volatile.Read(ref rx.Region.Health(sendWorker: false, WorkerHealthField.Heartbeat));
                long nowReceived = rx.Region.Read(ChannelCounter.Received);
                if (nowReceived != received)
                {
                    received = nowReceived;
                    beat = nowBeat;
                    return false;
                }
                return nowBeat >= beat + 2;
            },
            timeout ?? Settle,
            () => $"receive worker of channel {rx.Id} to go idle: {Describe(rx.ReadStats())}");
    }

    public static string Describe(ChannelStats s) =>
        $"state {s.State}; enqueued {s[ChannelCounter.Enqueued]}, rejected_full {s[ChannelCounter.RejectedFull]}, scanned {s[ChannelCounter.Scanned]}, "
        + $"scheduled {s[ChannelCounter.Scheduled]}, sent {s[ChannelCounter.Sent]}, late {s[ChannelCounter.Late]}, dropped late/error/stopped "
        + $"{s[ChannelCounter.DroppedLate]}/{s[ChannelCounter.DroppedError]}/{s[ChannelCounter.DroppedStopped]}, pending {s.Pending}, send_calls {s[ChannelCounter.SendCalls]}; "
        + $"received {s[ChannelCounter.Received]}, rx_written {s[ChannelCounter.RxWritten]}, drained {s[ChannelCounter.Drained]}, "
        + $"rx_dropped overflow/truncated {s[ChannelCounter.RxDroppedOverflow]}/{s[ChannelCounter.RxDroppedTruncated]}, buffered {s.Buffered}, "
        + $"dropped by the kernel before read {s[ChannelCounter.RxDroppedKernel]}; "
        + $"send errnos [{string.Join(',', s.SendErrnos.Select(e => $"{e.Key}:{e.Value}"))}], receive errnos [{string.Join(',', s.ReceiveErrnos.Select(e => $"{e.Key}:{e.Value}"))}]";
}

/// <summary>Channel configs for the tests: small, on loopback, kernel-chosen ports.</summary>
public static class TestChannels
{
    public static ChannelConfig Receiver(uint id, string name, IPAddress? address = null) => new()
    {
        Id = id,
        Name = name,
        Direction = ChannelDirection.Receive,
        Local = new IPEndPoint(address ?? IPAddress.Loopback, 0),
        Capacity = 1024,
        MaxPayload = 2048,
    };

    public static ChannelConfig Sender(uint id, string name, IPEndPoint remote) => new()
    {
        Id = id,
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0),
        Remote = remote,
        Capacity = 1024,
        MaxPayload = 2048,
    };
}
