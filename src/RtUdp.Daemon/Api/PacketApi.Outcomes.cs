using Grpc.Core;
using RtUdp.Daemon.Limits;
using RtUdp.Daemon.Outcomes;
using RtUdp.V1;

namespace RtUdp.Daemon.Api;

public sealed partial class PacketApi
{
    private const int DefaultOutcomeBatch = 256;

    public override async Task WatchOutcomes(WatchOutcomesRequest request, IServerStreamWriter<WatchOutcomesResponse> responseStream, ServerCallContext context)
    {
        if (request.MaxBatch is < 0 or > MaxReceiveCount)
        {
            throw ApiErrors.InvalidArgument("max_batch", $"must be 0 to {MaxReceiveCount}");
        }
        ChannelEntry entry = api.Find(request.Channel, "channel");
        if (!entry.Config.Sends)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "the channel does not send (direction RECEIVE): it has no packet outcomes", "DIRECTION");
        }
        var filter = new OutcomeFilter(request.OnlyMine ? tags.Of(ClientIdentity.Of(context)) : null, request.OnlyAbnormal);
        int max = request.MaxBatch == 0 ? DefaultOutcomeBatch : request.MaxBatch;
        OutcomeSubscription subscription = outcomes.Subscribe(entry, filter);
        var items = new List<OutcomeItem>(max);
        CancellationToken cancellation = context.CancellationToken;
        try
        {
            // An empty first message: the client knows it is subscribed before it sends. Not before the pump has taken
            // the subscription in (reports requested, and offered to it from then on): outcomes of packets the client
            // sends after this message would otherwise be drained for the subscribers before it, or never written.
            await subscription.Attached.WaitAsync(cancellation);
            await responseStream.WriteAsync(new WatchOutcomesResponse(), cancellation);
            while (!cancellation.IsCancellationRequested)
            {
                items.Clear();
                if (await subscription.ReadAsync(items, max, cancellation) == 0)
                {
                    // Ended: the channel was deleted.
                    return;
                }
                var response = new WatchOutcomesResponse();
                long delivered = 0;
                foreach (OutcomeItem item in items)
                {
                    response.Records.Add(OutcomeMapping.ToProto(item));
                    delivered += item.IsGap ? 0 : 1;
                }
                await responseStream.WriteAsync(response, cancellation);
                entry.CountOutcomes(delivered, 0);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The client went away.
        }
        finally
        {
            outcomes.Unsubscribe(entry, subscription);
        }
    }
}
