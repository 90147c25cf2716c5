using System.Runtime.CompilerServices;
using Grpc.Core;
using RtUdp.V1;

namespace RtUdp.Client;

/// <summary>
/// A WatchOutcomes call that the daemon has accepted: packets sent from now on have their outcome in
/// <see cref="ReadAllAsync"/>, in the order the engine finished them, with a gap record where outcomes were missed.
/// </summary>
public sealed class OutcomeWatch : IDisposable
{
    private readonly RtUdpClient _client;
    private readonly AsyncServerStreamingCall<WatchOutcomesResponse> _call;

    internal OutcomeWatch(RtUdpClient client, AsyncServerStreamingCall<WatchOutcomesResponse> call)
    {
        _client = client;
        _call = call;
    }

    /// <summary>Records as they come, until the call is cancelled, disposed, or the channel deleted.</summary>
    public async IAsyncEnumerable<OutcomeRecord> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            bool more;
            try
            {
                more = await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("cancelled", e, cancellationToken);
            }
            catch (RpcException e)
            {
                throw _client.ToException(e);
            }
            if (!more)
            {
                yield break;
            }
            foreach (OutcomeRecord record in _call.ResponseStream.Current.Records)
            {
                yield return record;
            }
        }
    }

    public void Dispose() => _call.Dispose();
}
