using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PacketServiceTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);

    private static OutgoingPacket At(string text, Action<OutgoingPacket> time)
    {
        var packet = new OutgoingPacket { Payload = ByteString.CopyFromUtf8(text) };
        time(packet);
        return packet;
    }

    [Fact]
    public async Task Every_time_form_is_honoured_and_batches_drain()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("forms-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("forms-tx"), rx.BoundLocal);
        long now = Libc.MonotonicNow();
        DateTime wall = DateTime.UtcNow;
        int tai = TaiOffset.Read();
        SendResponse sent = await _api.Packets.SendAsync(new SendRequest
        {
            Channel = tx.Name,
            Packets =
            {
                At("d-delay", p => p.Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(80))),
                At("a-monotonic", p => p.MonotonicNs = now + 20_000_000),
                At("c-tai", p => p.Tai = Timestamp.FromDateTime(wall.AddSeconds(tai).AddMilliseconds(60))),
                At("b-realtime", p => p.Realtime = Timestamp.FromDateTime(wall.AddMilliseconds(40))),
                At("e-past", p => p.MonotonicNs = now - 1_000_000_000),
                At("f-now", _ => { }),
            },
        });
        Assert.Equal(6, sent.Accepted);

        var payloads = new List<string>();
        var times = new List<long>();
        while (payloads.Count < 6)
        {
            ReceiveResponse batch = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 6, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)) });
            Assert.NotEmpty(batch.Packets);
            payloads.AddRange(batch.Packets.Select(p => p.Payload.ToStringUtf8()));
            times.AddRange(batch.Packets.Select(p => p.MonotonicNs));
        }
        // The past and immediate packets first (any order), then by their time, whatever its form.
        Assert.Equal(["e-past", "f-now"], payloads.Take(2).Order());
        Assert.Equal(["a-monotonic", "b-realtime", "c-tai", "d-delay"], payloads.Skip(2));
        Assert.True(times[2] >= now + 20_000_000);
        Assert.True(times[5] >= now + 80_000_000);

        // The past packet went late (beyond the tolerance) and was sent anyway (SEND_LATE).
        V1.ChannelStats stats = await _api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 6);
        Assert.True(stats.Tx.Late >= 1);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Receive_times_out_empty_and_honours_max_count()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("recv-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("recv-tx"), rx.BoundLocal);
        var started = System.Diagnostics.Stopwatch.StartNew();
        ReceiveResponse none = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 5, Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(150)) });
        Assert.Empty(none.Packets);
        Assert.InRange(started.ElapsedMilliseconds, 140, 5000);

        var send = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < 5; i++)
        {
            send.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom((byte)i), PacketId = i });
        }
        await _api.Packets.SendAsync(send);
        await _api.WaitStatsAsync(rx.Name, s => s.Rx.Received == 5);
        ReceiveResponse three = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 3 });
        Assert.Equal([0, 1, 2], three.Packets.Select(p => (int)p.Payload[0]));
        ReceiveResponse rest = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 10 });
        Assert.Equal([3, 4], rest.Packets.Select(p => (int)p.Payload[0]));
        Assert.Equal(rest.Packets[0].Sequence + 1, rest.Packets[1].Sequence);

        await RpcAssert.InvalidAsync(() => _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = -1, Timeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)) }).ResponseAsync, "max_count", "timeout");
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task ReceiveStream_delivers_as_packets_arrive()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("stream-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("stream-tx"), rx.BoundLocal);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using AsyncServerStreamingCall<ReceiveStreamResponse> stream = _api.Packets.ReceiveStream(new ReceiveStreamRequest { Channel = rx.Name, MaxBatch = 4 }, cancellationToken: cancel.Token);
        var received = new List<int>();
        for (int round = 0; round < 3; round++)
        {
            var send = new SendRequest { Channel = tx.Name };
            for (int i = 0; i < 3; i++)
            {
                send.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom((byte)((round * 3) + i)), Delay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(5)) });
            }
            await _api.Packets.SendAsync(send);
            while (received.Count < (round + 1) * 3)
            {
                Assert.True(await stream.ResponseStream.MoveNext(cancel.Token));
                Assert.InRange(stream.ResponseStream.Current.Packets.Count, 1, 4);
                received.AddRange(stream.ResponseStream.Current.Packets.Select(p => (int)p.Payload[0]));
            }
        }
        Assert.Equal(Enumerable.Range(0, 9), received);
        await cancel.CancelAsync();
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Invalid_packets_name_their_field_and_nothing_is_enqueued()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("inv-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("inv-tx"), rx.BoundLocal, configure: c => c.MaxPayload = 100);
        GetClockResponse clock = await _api.Clock.GetClockAsync(new GetClockRequest());
        var request = new SendRequest
        {
            Channel = tx.Name,
            Packets =
            {
                new OutgoingPacket { Payload = ByteString.CopyFromUtf8("fine") },
                new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[101]) },
                new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[65508]) },
                new OutgoingPacket { MonotonicNs = clock.MonotonicNs + 61_000_000_000 },
                new OutgoingPacket { Realtime = Timestamp.FromDateTime(DateTime.UtcNow.AddMinutes(2)) },
                new OutgoingPacket { Tai = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1)) },
                new OutgoingPacket { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(61)) },
                new OutgoingPacket { Delay = new Duration { Seconds = -1 } },
                new OutgoingPacket { Realtime = new Timestamp { Seconds = 1, Nanos = -5 } },
                new OutgoingPacket { MonotonicNs = clock.MonotonicNs + 59_000_000_000 },
                new OutgoingPacket { Realtime = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(-1)) },
            },
        };
        BadRequest bad = await RpcAssert.InvalidAsync(() => _api.Packets.SendAsync(request).ResponseAsync,
            "packets[1].payload", "packets[2].payload", "packets[3].monotonic_ns", "packets[4].realtime", "packets[5].tai", "packets[6].delay", "packets[7].delay", "packets[8].realtime");
        Assert.Contains("max_payload", bad.FieldViolations[0].Description, StringComparison.Ordinal);
        Assert.Contains("65507", bad.FieldViolations[1].Description, StringComparison.Ordinal);
        V1.ChannelStats stats = (await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
        Assert.Equal(0, stats.Tx.Enqueued);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task A_horizon_of_the_configured_length_applies()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("hz-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("hz-tx"), rx.BoundLocal, start: false);
        // 59 s is inside the default 60 s horizon; the packet waits in a channel that is not started.
        SendResponse ok = await _api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Delay = Duration.FromTimeSpan(TimeSpan.FromSeconds(59)) } } });
        Assert.Equal(1, ok.Accepted);
        DeleteChannelResponse deleted = await _api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = tx.Name });
        Assert.Equal(1, deleted.FinalCounters["enqueued"]);
        await _api.DeleteAsync(rx);
    }

    [Fact]
    public async Task Wrong_direction_and_stopped_channel_are_failed_precondition()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("dir-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("dir-tx"), rx.BoundLocal);
        var packet = new OutgoingPacket { Payload = ByteString.CopyFromUtf8("x") };

        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.SendAsync(new SendRequest { Channel = rx.Name, Packets = { packet } }).ResponseAsync);
        Assert.Equal("DIRECTION", status.GetDetail<PreconditionFailure>()?.Violations[0].Type);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = tx.Name }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.ReceiveStream(new ReceiveStreamRequest { Channel = tx.Name }).ResponseStream.MoveNext());

        await _api.Channels.StopChannelAsync(new StopChannelRequest { Name = tx.Name });
        await _api.Channels.StopChannelAsync(new StopChannelRequest { Name = rx.Name });
        status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { packet } }).ResponseAsync);
        Assert.Equal("STATE", status.GetDetail<PreconditionFailure>()?.Violations[0].Type);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name }).ResponseAsync);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Full_ring_is_resource_exhausted_with_retry_info_and_the_count_accepted()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("full-rx"));
        // Not started: nothing leaves the 1 KiB ring, which holds about 25 small packets.
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("full-tx"), rx.BoundLocal, start: false, configure: c =>
        {
            c.MaxPayload = 64;
            c.TxRingBytes = 1024;
            c.Capacity = 1000;
        });
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < 100; i++)
        {
            request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[16]), PacketId = i });
        }
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => _api.Packets.SendAsync(request).ResponseAsync);
        RetryInfo? retry = status.GetDetail<RetryInfo>();
        Assert.NotNull(retry);
        Assert.True(retry.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
        ErrorInfo? info = status.GetDetail<ErrorInfo>();
        Assert.Equal("RING_FULL", info?.Reason);
        int accepted = int.Parse(info!.Metadata["accepted"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(accepted, 1, 99);

        V1.ChannelStats stats = (await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name })).Stats;
        Assert.Equal(accepted, stats.Tx.Enqueued);
        Assert.Equal(1, stats.Tx.RejectedFull);
        Assert.Equal(accepted, stats.Tx.Pending);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Deleting_a_channel_ends_its_streams_at_once()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("del-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("del-tx"), rx.BoundLocal);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using AsyncServerStreamingCall<ReceiveStreamResponse> receive = _api.Packets.ReceiveStream(new ReceiveStreamRequest { Channel = rx.Name }, cancellationToken: cancel.Token);
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> send = _api.Packets.SendStream(cancellationToken: cancel.Token);
        await send.RequestStream.WriteAsync(new SendStreamRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("one") } } });
        Assert.True(await receive.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal("one", receive.ResponseStream.Current.Packets[0].Payload.ToStringUtf8());

        // Neither an idle send stream nor a waiting receive stream holds the delete up.
        var started = System.Diagnostics.Stopwatch.StartNew();
        await _api.DeleteAsync(tx, rx);
        Assert.InRange(started.ElapsedMilliseconds, 0, 2000);
        Assert.False(await receive.ResponseStream.MoveNext(cancel.Token));
        await RpcAssert.FailsAsync(StatusCode.NotFound, async () =>
        {
            await send.RequestStream.WriteAsync(new SendStreamRequest { Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("two") } } });
            await send.RequestStream.CompleteAsync();
            await send.ResponseAsync;
        });
    }
}
