using Google.Protobuf;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>Sequenced channels and the reflector through the real rtudpd: options round-trip, stats and histograms.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FlowApiTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Tcp);

    [Fact]
    public async Task Reflector_round_trips_show_in_GetStats_and_the_round_trip_histogram()
    {
        const int packets = 50;
        Channel reflector = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("api-refl"),
            Start = true,
            Channel = new Channel
            {
                Direction = ChannelDirection.Receive,
                Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
                Capacity = 1024,
                MaxPayload = 2048,
                Priority = 0,
                Flags = { ChannelFlag.Reflect },
            },
        })).Channel;
        Assert.Equal([ChannelFlag.Reflect], reflector.Flags);
        Channel pinger = await _api.CreateSenderAsync(Clients.UniqueId("api-ping"), reflector.BoundLocal, configure: c =>
        {
            c.Direction = ChannelDirection.Duplex;
            c.Flags.Add(ChannelFlag.Sequenced);
            c.FlowId = 1234;
            c.FlowClock = FlowClock.Monotonic;
        });
        Assert.Equal(1234u, pinger.FlowId);
        Assert.Equal(FlowClock.Monotonic, pinger.FlowClock);
        Assert.Contains(ChannelFlag.Sequenced, pinger.Flags);

        var send = new SendRequest { Channel = pinger.Name };
        for (int i = 0; i < packets; i++)
        {
            send.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(new byte[64]) });
        }
        await _api.Packets.SendAsync(send);

        // Both: the worker records a batch's samples before it adds the batch to received.
        ChannelStats stats = await WaitForStatsAsync(pinger.Name, s => s.RoundTripCount == packets && s.Rx.Received == packets);
        Assert.Equal(packets, stats.Rx.Received);
        FlowStats flow = Assert.Single(stats.Flows);
        Assert.Equal((1234u, (long)packets, 0L, FlowLatencyKind.RoundTrip), (flow.FlowId, flow.Unique, flow.Lost, flow.LatencyKind));
        Assert.Equal(packets, stats.FlowTotals.Packets);
        Assert.Equal(packets, stats.FlowTotals.Unique);
        Assert.Equal(0, stats.OneWayCount);
        Assert.Equal(packets - 1, stats.JitterCount);

        Histogram roundTrip = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = pinger.Name, Kind = HistogramKind.RoundTrip })).Histogram;
        Assert.Equal(HistogramKind.RoundTrip, roundTrip.Kind);
        Assert.Equal(packets, roundTrip.TotalCount);
        Assert.InRange(roundTrip.MinNs, 1, 100_000_000);
        Histogram jitter = (await _api.Stats.GetHistogramAsync(new GetHistogramRequest { Name = pinger.Name, Kind = HistogramKind.Jitter })).Histogram;
        Assert.Equal(packets - 1, jitter.TotalCount);

        // The reflector counts a batch after sending it back: its counters may trail the last replies a little.
        ChannelStats back = await WaitForStatsAsync(reflector.Name, s => s.Rx.Reflected == packets);
        Assert.Equal(packets, back.Rx.Received);
        Assert.Equal(0, back.Rx.ReflectErrors);
        Assert.True(back.Rx.Balanced);
        Assert.Equal(packets, back.Counters["reflected"]);
        await _api.DeleteAsync(pinger, reflector);
    }

    [Fact]
    public async Task Flow_options_are_validated_with_the_field_named()
    {
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("bad-flow"),
            Channel = new Channel { Direction = ChannelDirection.Receive, FlowClock = (FlowClock)9, Flags = { (ChannelFlag)99 } },
        }).ResponseAsync, "channel.flow_clock", "channel.flags[0]");
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("bad-refl"),
            Channel = new Channel { Direction = ChannelDirection.Send, Remote = new Endpoint { Address = "127.0.0.1", Port = 9 }, Flags = { ChannelFlag.Reflect } },
        }).ResponseAsync, "channel.flags");
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("bad-seq"),
            Channel = new Channel { Direction = ChannelDirection.Send, Remote = new Endpoint { Address = "127.0.0.1", Port = 9 }, MaxPayload = 39, Flags = { ChannelFlag.Sequenced } },
        }).ResponseAsync, "channel.max_payload");
    }

    private async Task<ChannelStats> WaitForStatsAsync(string name, Func<ChannelStats, bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            ChannelStats stats = (await _api.Stats.GetStatsAsync(new GetStatsRequest { Name = name })).Stats;
            if (condition(stats))
            {
                return stats;
            }
            Assert.True(DateTime.UtcNow < deadline, $"stats of {name} never met the condition: {stats}");
            await Task.Delay(5);
        }
    }
}
