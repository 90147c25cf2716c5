using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using RtUdp.Core.Native;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Faults against the real daemon and engine, each with a daemon of its own; every test ends by asserting the
/// accounting invariant on its channels (<see cref="DaemonAccounting"/>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(ReliabilityCollection.Name)]
public sealed partial class FaultTests
{
    private static readonly DateTime NoDeadline = DateTime.MaxValue;

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_leaves_its_enqueued_packets_counted_and_the_daemon_serving()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("mid-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("mid-tx"), rx.BoundLocal);

        // A SendStream whose client goes away (connection closed) after three messages, without completing.
        using (GrpcChannel doomed = daemon.NewUnixChannel())
        {
            var client = new PacketService.PacketServiceClient(doomed);
            AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = client.SendStream();
            for (int m = 0; m < 3; m++)
            {
                var message = new SendStreamRequest { Channel = m == 0 ? tx.Name : "" };
                message.Packets.AddRange(Enumerable.Range(0, 100).Select(i => new OutgoingPacket { Payload = ByteString.CopyFrom(BitConverter.GetBytes((m * 100) + i)) }));
                await call.RequestStream.WriteAsync(message);
            }
            await api.WaitStatsAsync(tx.Name, s => s.Tx.Enqueued == 300, TimeSpan.FromSeconds(10));
            call.Dispose();
        }

        // A ReceiveStream whose client goes away after its first batch.
        using (GrpcChannel doomed = daemon.NewUnixChannel())
        {
            using var cancel = new CancellationTokenSource();
            using AsyncServerStreamingCall<ReceiveStreamResponse> stream = new PacketService.PacketServiceClient(doomed).ReceiveStream(new ReceiveStreamRequest { Channel = rx.Name, MaxBatch = 50 }, cancellationToken: cancel.Token);
            Assert.True(await stream.ResponseStream.MoveNext(cancel.Token));
            Assert.NotEmpty(stream.ResponseStream.Current.Packets);
            await cancel.CancelAsync();
        }

        // Everything enqueued was sent; what the gone stream did not take is still in the RX ring, drained now.
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 300, TimeSpan.FromSeconds(10));
        V1.ChannelStats rxStats = await api.WaitStatsAsync(rx.Name, s => s.Rx.Received + s.Rx.DroppedOverflow >= 300, TimeSpan.FromSeconds(10));
        long drainedBefore = rxStats.Rx.Drained;
        int rest = 0;
        ReceiveResponse r;
        while ((r = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 1000 })).Packets.Count > 0)
        {
            rest += r.Packets.Count;
        }
        V1.ChannelStats[] stats = await DaemonAccounting.AssertBalancedAsync(api, tx.Name, rx.Name);
        Assert.Equal(300, stats[1].Rx.Received);
        Assert.Equal(drainedBefore + rest, stats[1].Rx.Drained);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(daemon.Fixture.Unix).CheckAsync(new HealthCheckRequest())).Status);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name, rx.Name);
    }

    [Fact]
    public async Task A_thousand_concurrent_clients_each_on_its_own_connection_all_get_their_packet_through()
    {
        const int ClientCount = 1000;
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("many-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("many-tx"), rx.BoundLocal, configure: c => c.Capacity = 4096);
        GrpcChannel[] connections = [.. Enumerable.Range(0, ClientCount).Select(_ => daemon.NewUnixChannel())];
        try
        {
            using var start = new SemaphoreSlim(0);
            Task[] clients = [.. connections.Select((connection, i) => Task.Run(async () =>
            {
                await start.WaitAsync();
                var client = new Clients(connection);
                Assert.NotEqual(0, (await client.Clock.GetClockAsync(new GetClockRequest(), deadline: DateTime.UtcNow.AddSeconds(60))).MonotonicNs);
                var request = new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(BitConverter.GetBytes(i)), PacketId = i } } };
                Assert.Equal(1, (await client.Packets.SendAsync(request, deadline: DateTime.UtcNow.AddSeconds(60))).Accepted);
            }))];
            start.Release(ClientCount);
            await Task.WhenAll(clients);

            var received = new HashSet<int>();
            DateTime deadline = DateTime.UtcNow.AddSeconds(20);
            while (received.Count < ClientCount && DateTime.UtcNow < deadline)
            {
                ReceiveResponse r = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 1000, Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) });
                foreach (V1.ReceivedPacket p in r.Packets)
                {
                    Assert.True(received.Add(BitConverter.ToInt32(p.Payload.Span)), "a packet arrived twice");
                }
            }
            Assert.Equal(ClientCount, received.Count);
        }
        finally
        {
            foreach (GrpcChannel connection in connections)
            {
                connection.Dispose();
            }
        }
        V1.ChannelStats[] stats = await DaemonAccounting.AssertBalancedAsync(api, tx.Name, rx.Name);
        Assert.Equal(ClientCount, stats[0].Tx.Sent);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name, rx.Name);
    }

    [Fact]
    public async Task An_engine_killed_with_SIGKILL_is_restarted_and_its_queued_and_undrained_packets_are_counted_lost()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("kill-rx"));
        Channel now = await api.CreateSenderAsync(Clients.UniqueId("kill-now"), rx.BoundLocal);
        Channel later = await api.CreateSenderAsync(Clients.UniqueId("kill-later"), rx.BoundLocal);
        // 20 packets received and left undrained; 500 scheduled 50 s ahead.
        await api.Packets.SendAsync(Batch(now.Name, 20, TimeSpan.Zero));
        await api.WaitStatsAsync(rx.Name, s => s.Rx.Buffered == 20, TimeSpan.FromSeconds(10));
        await api.Packets.SendAsync(Batch(later.Name, 500, TimeSpan.FromSeconds(50)));
        await DaemonAccounting.AssertBalancedAsync(api, rx.Name, now.Name, later.Name);

        var health = new Health.HealthClient(daemon.Fixture.Unix);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using AsyncServerStreamingCall<HealthCheckResponse> watch = health.Watch(new HealthCheckRequest(), cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);

        int pid = daemon.Fixture.EnginePid;
        Assert.Equal(0, Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL));
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
        Assert.NotEqual(pid, await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(30), restarts: 1));

        // The loss is counted: per channel in the log, in total in the supervisor's STATUS.
        Assert.Contains(", 1 restarts, lost 500 queued and 20 received packets", daemon.Fixture.Status, StringComparison.Ordinal);
        Assert.Matches(LostLine(later.EngineId, 500, 0), daemon.Log);
        Assert.Matches(LostLine(rx.EngineId, 0, 20), daemon.Log);

        // The channels are back, running, and carry packets again; their books (new engine) balance.
        foreach (Channel c in new[] { rx, now, later })
        {
            await WaitStateAsync(api, c.Name, ChannelState.Running);
        }
        await api.Packets.SendAsync(Batch(now.Name, 10, TimeSpan.Zero));
        await api.WaitStatsAsync(rx.Name, s => s.Rx.Buffered == 10, TimeSpan.FromSeconds(10));
        await DaemonAccounting.AssertBalancedAsync(api, rx.Name, now.Name, later.Name);
        await DaemonAccounting.DeleteBalancedAsync(api, now.Name, later.Name, rx.Name);
    }

    [Fact]
    public async Task SIGTERM_with_a_million_packets_queued_sends_those_due_within_the_drain_window_and_counts_the_rest_dropped()
    {
        const int Packets = 1_000_000;
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(new Dictionary<string, string> { ["Engine:DrainWindow"] = "1s" });
        Clients api = daemon.Unix;
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var remote = new Endpoint { Address = "127.0.0.1", Port = (uint)((IPEndPoint)sink.LocalEndPoint!).Port };
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("term"), remote, configure: c =>
        {
            c.Capacity = 1 << 20;
            c.MaxPayload = 16;
            c.TxRingBytes = 128L << 20;
            c.Timestamps = V1.TimestampMode.Off;
        });
        // Due one every 40 us from 20 s on: 40 s of packets, all queued when SIGTERM comes.
        long first = (await api.Clock.GetClockAsync(new GetClockRequest())).MonotonicNs + 20_000_000_000;
        ByteString payload = ByteString.CopyFrom(new byte[16]);
        for (int i = 0; i < Packets; i += 10_000)
        {
            var request = new SendRequest { Channel = tx.Name };
            for (int j = i; j < i + 10_000; j++)
            {
                request.Packets.Add(new OutgoingPacket { Payload = payload, MonotonicNs = first + (j * 40_000L), PacketId = j });
            }
            await api.Packets.SendAsync(request);
        }
        V1.ChannelStats queued = (await DaemonAccounting.AssertBalancedAsync(api, tx.Name))[0];
        Assert.Equal(Packets, queued.Tx.Enqueued);

        // SIGTERM just before the first packet is due: the 1 s window covers the first ~25,000.
        long wait = first - 300_000_000 - Libc.MonotonicNow();
        Assert.True(wait > 0, "enqueueing took longer than 20 s");
        await Task.Delay(TimeSpan.FromTicks(wait / 100));
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, Tmds.Linux.LibC.kill(daemon.Fixture.Process.Pid, Tmds.Linux.LibC.SIGTERM));
        Assert.Equal(0, daemon.Fixture.Process.WaitForExit(TimeSpan.FromSeconds(30)));
        TimeSpan took = clock.Elapsed;

        Match shutdown = Shutdown().Match(daemon.Log);
        Assert.True(shutdown.Success, "no shutdown totals in the log:\n" + daemon.Log);
        double drainMs = double.Parse(shutdown.Groups["drain"].Value, CultureInfo.InvariantCulture);
        long sentDuringDrain = long.Parse(shutdown.Groups["sent"].Value, CultureInfo.InvariantCulture);
        long dropped = long.Parse(shutdown.Groups["dropped"].Value, CultureInfo.InvariantCulture);
        long enqueued = long.Parse(shutdown.Groups["enqueued"].Value, CultureInfo.InvariantCulture);
        long sent = long.Parse(shutdown.Groups["total"].Value, CultureInfo.InvariantCulture);
        // The window is honoured (the drain ends by it; the packets due in it went out), and every packet is counted.
        Assert.True(drainMs is >= 900 and <= 2500, $"drain took {drainMs} ms for a 1 s window\n{shutdown.Value}");
        Assert.True(sentDuringDrain is > 10_000 and < 60_000, $"{sentDuringDrain} sent during a 1 s drain of packets due every 40 us\n{shutdown.Value}");
        Assert.Equal(Packets, enqueued);
        Assert.Equal(Packets, sent + dropped);
        Assert.True(took < TimeSpan.FromSeconds(15), $"rtudpd took {took} to stop");
    }

    [Fact]
    public async Task A_receiver_flooded_beyond_its_ring_counts_the_overflow_and_delivers_the_rest()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("flooded"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("flooder"), rx.BoundLocal, configure: c => c.Capacity = 8192);
        for (int i = 0; i < 5000; i += 1000)
        {
            var request = new SendRequest { Channel = tx.Name };
            request.Packets.AddRange(Enumerable.Range(i, 1000).Select(j => new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[512]), PacketId = j }));
            await api.Packets.SendAsync(request);
            // Each batch fits the TX ring; the next goes when this one is on the wire.
            await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == i + 1000, TimeSpan.FromSeconds(20));
        }
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 5000, TimeSpan.FromSeconds(20));
        V1.ChannelStats flooded = await api.WaitStatsAsync(rx.Name, s => s.Rx.DroppedOverflow > 0 && s.Rx.Balanced, TimeSpan.FromSeconds(10));
        Assert.True(flooded.Rx.Buffered <= 1024, $"more buffered than the ring holds: {flooded}");
        int drained = 0;
        ReceiveResponse r;
        while ((r = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 10_000 })).Packets.Count > 0)
        {
            drained += r.Packets.Count;
            // Sequence gaps show where the ring overflowed.
        }
        V1.ChannelStats[] stats = await DaemonAccounting.AssertBalancedAsync(api, tx.Name, rx.Name);
        Assert.Equal(stats[1].Rx.Received - stats[1].Rx.DroppedOverflow, drained);
        // What the kernel took from the wire, the channel received; what it could not keep is counted, not lost.
        Assert.True(stats[1].Rx.Received + ((long)stats[1].ReceiveErrnos.Values.Sum()) <= 5000);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name, rx.Name);
    }

    [Fact]
    public async Task Payloads_at_the_limits_pass_intact_and_beyond_them_are_refused_or_counted_truncated()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel big = await api.CreateReceiverAsync(Clients.UniqueId("big-rx"), maxPayload: 65507);
        Channel small = await api.CreateReceiverAsync(Clients.UniqueId("small-rx"), maxPayload: 100);
        Channel toBig = await api.CreateSenderAsync(Clients.UniqueId("to-big"), big.BoundLocal, configure: c => c.MaxPayload = 65507);
        Channel toSmall = await api.CreateSenderAsync(Clients.UniqueId("to-small"), small.BoundLocal, configure: c => c.MaxPayload = 65507);
        byte[] largest = new byte[65507];
        Random.Shared.NextBytes(largest);

        // The UDP maximum, and an empty payload, arrive intact.
        await api.Packets.SendAsync(new SendRequest { Channel = toBig.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(largest) }, new OutgoingPacket { Payload = ByteString.Empty } } });
        var arrived = new List<V1.ReceivedPacket>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (arrived.Count < 2 && DateTime.UtcNow < deadline)
        {
            arrived.AddRange((await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = big.Name, MaxCount = 10, Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) })).Packets);
        }
        Assert.Equal(2, arrived.Count);
        Assert.True(arrived[0].Payload.Span.SequenceEqual(largest));
        Assert.Equal(0, arrived[1].Payload.Length);

        // Beyond the channel's max_payload or the UDP maximum: refused before anything is enqueued, the field named.
        Channel capped = await api.CreateSenderAsync(Clients.UniqueId("capped"), big.BoundLocal, configure: c => c.MaxPayload = 2048);
        await RpcAssert.InvalidAsync(() => api.Packets.SendAsync(new SendRequest { Channel = capped.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[2048]) }, new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[2049]) } } }).ResponseAsync, "packets[1].payload");
        await RpcAssert.InvalidAsync(() => api.Packets.SendAsync(new SendRequest { Channel = toBig.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[65508]) } } }).ResponseAsync, "packets[0].payload");
        await RpcAssert.InvalidAsync(() => api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = Clients.UniqueId("too-big"), Channel = new Channel { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1" }, MaxPayload = 65508 } }).ResponseAsync, "channel.max_payload");

        // A datagram larger than the receiver's max_payload: dropped and counted as truncated, never delivered cut short.
        await api.Packets.SendAsync(new SendRequest { Channel = toSmall.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[100]) }, new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[101]) }, new OutgoingPacket { Payload = ByteString.CopyFrom(largest) } } });
        V1.ChannelStats smallStats = await api.WaitStatsAsync(small.Name, s => s.Rx.Received == 3, TimeSpan.FromSeconds(10));
        Assert.Equal(2, smallStats.Rx.DroppedTruncated);
        Assert.Equal(100, (await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = small.Name, MaxCount = 10 })).Packets.Single().Payload.Length);

        await DaemonAccounting.AssertBalancedAsync(api, big.Name, small.Name, toBig.Name, toSmall.Name, capped.Name);
        await DaemonAccounting.DeleteBalancedAsync(api, toBig.Name, toSmall.Name, capped.Name, big.Name, small.Name);
    }

    private static SendRequest Batch(string channel, int count, TimeSpan delay)
    {
        var request = new SendRequest { Channel = channel };
        for (int i = 0; i < count; i++)
        {
            request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(BitConverter.GetBytes(i)), Delay = Duration.FromTimeSpan(delay), PacketId = i });
        }
        return request;
    }

    private static async Task WaitStateAsync(Clients api, string name, ChannelState state)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        Channel c;
        while ((c = (await api.Channels.GetChannelAsync(new GetChannelRequest { Name = name })).Channel).State != state)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{name} never became {state}: {c}");
            await Task.Delay(20);
        }
    }

    private static Regex LostLine(uint engineId, long queued, long received) =>
        new($@"Channel {engineId} '[^']+' lost with engine \d+: {queued} queued packets never sent, {received} received packets never drained");

    [GeneratedRegex(@"Shutdown after (?<drain>[0-9.]+) ms of drain: (?<sent>\d+) packets sent during the drain, (?<dropped>\d+) dropped at stop, (?<undrained>\d+) received never drained \(\d+ channels, enqueued (?<enqueued>\d+), sent (?<total>\d+)\)")]
    private static partial Regex Shutdown();
}

/// <summary>The fault tests run one after another (each starts a daemon and loads the machine).</summary>
[CollectionDefinition(Name)]
public sealed class ReliabilityCollection
{
    public const string Name = "reliability";
}
