using System.Runtime.CompilerServices;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.V1;

namespace RtUdp.Client;

public sealed partial class RtUdpClient
{
    /// <summary>Enqueues one packet to leave at <paramref name="when"/>.</summary>
    public Task<SendResponse> SendAsync(string channel, ReadOnlyMemory<byte> payload, SendTime when = default, long packetId = 0, CancellationToken cancellationToken = default)
    {
        var packet = new OutgoingPacket { Payload = ByteString.CopyFrom(payload.Span), PacketId = packetId };
        when.ApplyTo(packet);
        return SendAsync(channel, [packet], cancellationToken);
    }

    /// <summary>
    /// Enqueues a batch (validated as a whole). A full ring throws <see cref="RtUdpException"/> with
    /// RESOURCE_EXHAUSTED, <see cref="RtUdpException.RetryDelay"/> and Metadata["accepted"] (the packets that went in).
    /// </summary>
    public Task<SendResponse> SendAsync(string channel, IEnumerable<OutgoingPacket> packets, CancellationToken cancellationToken = default)
    {
        var request = new SendRequest { Channel = ChannelName.Of(channel) };
        request.Packets.AddRange(packets);
        return CallAsync(options => Packets.SendAsync(request, options).ResponseAsync, cancellationToken);
    }

    /// <summary>
    /// Streams batches (SendStream): a full ring slows the stream down instead of failing it.
    /// Returns how many were enqueued and how long the stream waited for space.
    /// </summary>
    public Task<SendStreamResponse> SendStreamAsync(string channel, IAsyncEnumerable<IReadOnlyList<OutgoingPacket>> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return Translate(async () =>
        {
            using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = Packets.SendStream(cancellationToken: cancellationToken);
            string name = ChannelName.Of(channel);
            await foreach (IReadOnlyList<OutgoingPacket> batch in batches.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var message = new SendStreamRequest { Channel = name };
                message.Packets.AddRange(batch);
                try
                {
                    await call.RequestStream.WriteAsync(message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RpcException or InvalidOperationException)
                {
                    // The server ended the call (an invalid packet, a deleted channel): its status says why.
                    break;
                }
                name = "";
            }
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return await call.ResponseAsync.ConfigureAwait(false);
        });
    }

    /// <summary>Drains up to <paramref name="maxCount"/> packets, waiting up to <paramref name="timeout"/> (at most 60 s) for the first.</summary>
    public Task<IReadOnlyList<ReceivedPacket>> ReceiveAsync(string channel, int maxCount = 1, TimeSpan timeout = default, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<ReceivedPacket>>(async options => (await Packets.ReceiveAsync(new ReceiveRequest
        {
            Channel = ChannelName.Of(channel),
            MaxCount = maxCount,
            Timeout = Duration.FromTimeSpan(timeout),
        }, options).ConfigureAwait(false)).Packets, cancellationToken, timeout);

    /// <summary>Packets as they arrive (ReceiveStream), until cancelled.</summary>
    public async IAsyncEnumerable<ReceivedPacket> ReceiveStreamAsync(string channel, int maxBatch = 64, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using AsyncServerStreamingCall<ReceiveStreamResponse> call = Packets.ReceiveStream(new ReceiveStreamRequest { Channel = ChannelName.Of(channel), MaxBatch = maxBatch }, cancellationToken: cancellationToken);
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
            foreach (ReceivedPacket packet in call.ResponseStream.Current.Packets)
            {
                yield return packet;
            }
        }
    }

    /// <summary>
    /// Subscribes to the outcomes of <paramref name="channel"/>'s packets (WatchOutcomes) and returns once the
    /// daemon has the subscription, so that the outcome of every packet sent after this returns is included.
    /// </summary>
    /// <param name="onlyMine">Only the packets this client (its uid, address or certificate) sent.</param>
    /// <param name="onlyAbnormal">Only packets sent late, dropped, or that arrived late at the engine.</param>
    public async Task<OutcomeWatch> WatchOutcomesAsync(string channel, bool onlyMine = false, bool onlyAbnormal = false, int maxBatch = 0, CancellationToken cancellationToken = default)
    {
        AsyncServerStreamingCall<WatchOutcomesResponse> call = Packets.WatchOutcomes(new WatchOutcomesRequest
        {
            Channel = ChannelName.Of(channel),
            OnlyMine = onlyMine,
            OnlyAbnormal = onlyAbnormal,
            MaxBatch = maxBatch,
        }, cancellationToken: cancellationToken);
        try
        {
            // The first message is empty and says the subscription is in place; a refusal throws here.
            if (!await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                throw new RpcException(call.GetStatus());
            }
        }
        catch (RpcException e)
        {
            call.Dispose();
            throw ToException(e);
        }
        return new OutcomeWatch(this, call);
    }
}
