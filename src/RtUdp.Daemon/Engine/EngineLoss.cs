using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Engine;

/// <summary>
/// What dead engines took with them: the packets queued and not sent, and those received and not
/// drained, per channel in the log and in total for the metrics.
/// </summary>
internal sealed partial class EngineLoss(IChannelCatalog catalog, RetiredHandles retired, ILogger logger)
{
    private long _lostTx;
    private long _lostRx;

    /// <summary>Queued TX packets lost with dead engines, in total.</summary>
    public long LostTxPackets => Interlocked.Read(ref _lostTx);

    /// <summary>Received packets not yet drained, lost with dead engines, in total.</summary>
    public long LostRxPackets => Interlocked.Read(ref _lostRx);

    /// <summary>
    /// After engine <paramref name="pid"/> died: the channels' files are unlinked by nobody, and our
    /// mappings of them still show the last counters the engine wrote. Counts what died with it, marks
    /// the channels failed, detaches them from the catalog and retires their handles.
    /// </summary>
    public void Account(int pid)
    {
        long tx = 0, rx = 0;
        foreach (CatalogChannel channel in catalog.Snapshot())
        {
            if (channel.Handle is not { } handle)
            {
                continue;
            }
            // Detached first, then failed: a producer still holding the handle that sees it failed also finds
            // the channel detached, and waits for its restore instead of taking the failure for the channel's own.
            catalog.Attach(channel.Config.Id, null, $"engine {pid} died");
            handle.Region.State = ChannelState.Failed;
            ChannelRegion r = handle.Region;
            long pending = ChannelAccounting.Pending(r);
            long buffered = ChannelAccounting.Buffered(r);
            long enqueued = r.Read(ChannelCounter.Enqueued), sent = r.Read(ChannelCounter.Sent), received = r.Read(ChannelCounter.Received);
            // Killed inside a send call, the engine left its packets counted as pending: they are lost as far as anyone can
            // tell, and the log says how many of them may have left all the same.
            long inSendCall = Math.Clamp(r.Read(ChannelCounter.TxInSendCall), 0, pending);
            if (inSendCall == 0)
            {
                Log.ChannelLost(logger, channel.Config.Id, channel.Config.Name, pid, pending, buffered, enqueued, sent, received);
            }
            else
            {
                Log.ChannelLostInSendCall(logger, channel.Config.Id, channel.Config.Name, pid, pending, inSendCall, buffered, enqueued, sent, received);
            }
            tx += pending;
            rx += buffered;
            retired.Retire(handle);
        }
        Interlocked.Add(ref _lostTx, tx);
        Interlocked.Add(ref _lostRx, rx);
        Log.EngineLoss(logger, pid, tx, rx, LostTxPackets, LostRxPackets);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' lost with engine {Pid}: {LostQueued} queued packets never sent, {LostReceived} received packets never drained (enqueued {Enqueued}, sent {Sent}, received {Received})")]
        public static partial void ChannelLost(ILogger logger, uint channelId, string name, int pid, long lostQueued, long lostReceived, long enqueued, long sent, long received);

        [LoggerMessage(EventId = 119, Level = LogLevel.Error, Message = "Channel {ChannelId} '{Name}' lost with engine {Pid}: {LostQueued} queued packets never sent (up to {InSendCall} of them were in the send call it died in and may have left), {LostReceived} received packets never drained (enqueued {Enqueued}, sent {Sent}, received {Received})")]
        public static partial void ChannelLostInSendCall(ILogger logger, uint channelId, string name, int pid, long lostQueued, long inSendCall, long lostReceived, long enqueued, long sent, long received);

        [LoggerMessage(EventId = 112, Level = LogLevel.Error, Message = "Engine {Pid} loss: {LostQueued} queued and {LostReceived} received packets lost; since start {TotalLostQueued} and {TotalLostReceived}")]
        public static partial void EngineLoss(ILogger logger, int pid, long lostQueued, long lostReceived, long totalLostQueued, long totalLostReceived);
    }
}
