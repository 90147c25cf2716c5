using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>SendStream against a tiny ring: the stream is held back by the ring, never fails, loses nothing.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BackpressureTests(DaemonFixture daemon)
{
    [Fact]
    public async Task SendStream_completes_only_as_fast_as_the_ring_frees_and_loses_nothing()
    {
        var api = new Clients(daemon.Unix);
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("bp-rx"));
        // A 1 KiB ring holds about 25 packets of 16 bytes (8 + 16 + 16 bytes a record); each leaves only at its time.
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("bp-tx"), rx.BoundLocal, configure: c =>
        {
            c.MaxPayload = 64;
            c.TxRingBytes = 1024;
            c.Capacity = 1000;
        });
        const int Packets = 80;
        const long Spacing = 10_000_000;
        long first = Libc.MonotonicNow() + 200_000_000;

        var started = Stopwatch.StartNew();
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> stream = api.Packets.SendStream();
        for (int batch = 0; batch < Packets / 10; batch++)
        {
            var message = new SendStreamRequest { Channel = batch == 0 ? tx.Name : "" };
            for (int i = batch * 10; i < (batch + 1) * 10; i++)
            {
                message.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(BitConverter.GetBytes((long)i).Concat(new byte[8]).ToArray()), MonotonicNs = first + (i * Spacing), PacketId = i });
            }
            await stream.RequestStream.WriteAsync(message);
        }
        await stream.RequestStream.CompleteAsync();
        SendStreamResponse response = await stream;
        long completedAt = Libc.MonotonicNow();

        Assert.Equal(Packets, response.Accepted);
        Assert.True(response.FullWaits > 0, "the ring never filled");
        Assert.True(response.Waited.ToTimeSpan() > TimeSpan.Zero);
        // At most ~25 packets fit at once, so the last ones went in only after the first ~50 had left.
        Assert.True(completedAt >= first + (40 * Spacing), $"the stream completed {(first + (40 * Spacing) - completedAt) / 1e6:0.#} ms before the ring could have room");

        var received = new List<long>();
        while (received.Count < Packets)
        {
            ReceiveResponse batch = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 100, Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(3)) });
            Assert.NotEmpty(batch.Packets);
            received.AddRange(batch.Packets.Select(p => BitConverter.ToInt64(p.Payload.Span)));
        }
        Assert.Equal(Enumerable.Range(0, Packets).Select(i => (long)i), received);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(200 + (79 * 10)));

        V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Packets);
        Assert.Equal(Packets, stats.Tx.Enqueued);
        Assert.Equal(0, stats.Tx.DroppedLate + stats.Tx.DroppedError + stats.Tx.DroppedStopped + stats.Tx.Pending);
        Assert.True(stats.Tx.Balanced);
        Assert.True(stats.Tx.RejectedFull >= response.FullWaits, "every refused offer is counted");
        await api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task SendStream_cancelled_while_waiting_for_space_ends_and_keeps_its_accounting()
    {
        var api = new Clients(daemon.Unix);
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("bpc-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("bpc-tx"), rx.BoundLocal, start: false, configure: c =>
        {
            c.MaxPayload = 64;
            c.TxRingBytes = 1024;
        });
        using var cancel = new CancellationTokenSource();
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> stream = api.Packets.SendStream(cancellationToken: cancel.Token);
        var message = new SendStreamRequest { Channel = tx.Name };
        for (int i = 0; i < 100; i++)
        {
            message.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[16]) });
        }
        await stream.RequestStream.WriteAsync(message);
        await api.WaitStatsAsync(tx.Name, s => s.Tx.RejectedFull > 0);
        await cancel.CancelAsync();
        await RpcAssert.FailsAsync(StatusCode.Cancelled, () => stream.ResponseAsync);

        // What went in stays counted (pending), and deleting the channel counts it dropped.
        V1.ChannelStats stats = (await api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
        Assert.InRange(stats.Tx.Enqueued, 1, 99);
        Assert.Equal(stats.Tx.Enqueued, stats.Tx.Pending);
        await api.DeleteAsync(tx, rx);
    }
}
