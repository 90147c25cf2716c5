using System.Runtime.CompilerServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.V1;

namespace RtUdp.Client;

public sealed partial class RtUdpClient
{
    public Task<ChannelStats> GetStatsAsync(string channel, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Stats.GetStatsAsync(new GetStatsRequest { Name = ChannelName.Of(channel) }, options).ConfigureAwait(false)).Stats, cancellationToken);

    /// <summary>A latency histogram with the percentiles asked for (none: 50, 90, 99, 99.9, 99.99, 100).</summary>
    public Task<Histogram> GetHistogramAsync(string channel, HistogramKind kind = HistogramKind.SendError, IEnumerable<double>? percentiles = null, CancellationToken cancellationToken = default)
    {
        var request = new GetHistogramRequest { Name = ChannelName.Of(channel), Kind = kind };
        request.Percentiles.AddRange(percentiles ?? []);
        return CallAsync(async options => (await Stats.GetHistogramAsync(request, options).ConfigureAwait(false)).Histogram, cancellationToken);
    }

    /// <summary>The channel's stats now and every <paramref name="interval"/> (WatchStats), until cancelled.</summary>
    public async IAsyncEnumerable<ChannelStats> WatchStatsAsync(string channel, TimeSpan interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using AsyncServerStreamingCall<WatchStatsResponse> call = Stats.WatchStats(new WatchStatsRequest { Name = ChannelName.Of(channel), Interval = Duration.FromTimeSpan(interval) }, cancellationToken: cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("cancelled", e, cancellationToken);
            }
            catch (RpcException e)
            {
                throw ToException(e);
            }
            if (!more)
            {
                yield break;
            }
            yield return call.ResponseStream.Current.Stats;
        }
    }
}
