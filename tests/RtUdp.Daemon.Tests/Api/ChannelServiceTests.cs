using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ChannelServiceTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);

    private static Channel Receiver() => new() { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1" }, Capacity = 64, MaxPayload = 1024, Priority = 0 };

    [Fact]
    public async Task Create_get_list_start_stop_delete()
    {
        string id = Clients.UniqueId("life");
        Channel created = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = id,
            Channel = new Channel
            {
                Direction = ChannelDirection.Duplex,
                Local = new Endpoint { Address = "127.0.0.1" },
                Remote = new Endpoint { Address = "127.0.0.1", Port = 9 },
                Capacity = 128,
                MaxPayload = 1500,
                SendCpu = -1,
                ReceiveCpu = -1,
                Priority = 0,
                Timing = TimingStrategy.Sleep,
                SpinMarginNs = 50_000,
                LatePolicy = LatePolicy.Drop,
                LateToleranceNs = 200_000,
                BatchSize = 16,
                SocketBufferBytes = 1 << 20,
                Flags = { ChannelFlag.AllowZeroTaiOffset },
                Timestamps = TimestampMode.Software,
                LaunchTime = LaunchTimeMode.Off,
                LaunchLeadNs = 300_000,
                HardwareStampTimeoutNs = 20_000_000,
                TxRingBytes = 65536,
                RxRingBytes = 65536,
            },
        })).Channel;
        Assert.Equal("channels/" + id, created.Name);
        Assert.Equal(ChannelState.Created, created.State);
        Assert.NotEqual(0u, created.BoundLocal.Port);
        Assert.NotEqual(0u, created.EngineId);

        Channel got = (await _api.Channels.GetChannelAsync(new GetChannelRequest { Name = created.Name })).Channel;
        Assert.Equal(created, got);
        Assert.Equal(ChannelDirection.Duplex, got.Direction);
        Assert.Equal(128, got.Capacity);
        Assert.Equal(1500, got.MaxPayload);
        Assert.Equal(TimingStrategy.Sleep, got.Timing);
        Assert.Equal(50_000, got.SpinMarginNs);
        Assert.Equal(LatePolicy.Drop, got.LatePolicy);
        Assert.Equal(200_000, got.LateToleranceNs);
        Assert.Equal(16, got.BatchSize);
        Assert.Equal(1 << 20, got.SocketBufferBytes);
        Assert.Equal([ChannelFlag.AllowZeroTaiOffset], got.Flags);
        Assert.Equal(TimestampMode.Software, got.Timestamps);
        Assert.Equal(LaunchTimeMode.Off, got.LaunchTime);
        Assert.Equal(300_000, got.LaunchLeadNs);
        Assert.Equal(20_000_000, got.HardwareStampTimeoutNs);
        Assert.Equal(65536, got.TxRingBytes);
        Assert.Equal(new Endpoint { Address = "127.0.0.1", Port = 9 }, got.Remote);

        Channel started = (await _api.Channels.StartChannelAsync(new StartChannelRequest { Name = created.Name })).Channel;
        Assert.Equal(ChannelState.Running, started.State);
        Assert.Equal("lo", started.Mode.Interface);
        Assert.Equal(TimestampMode.Software, started.Mode.Timestamps);
        Assert.Equal(LaunchClock.Unspecified, started.Mode.LaunchClock);

        // A packet 30 s ahead stays queued; the stop counts it dropped.
        await _api.Packets.SendAsync(new SendRequest { Channel = created.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("x"), Delay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(30)) } } });
        Channel stopped = (await _api.Channels.StopChannelAsync(new StopChannelRequest { Name = created.Name })).Channel;
        Assert.Equal(ChannelState.Stopped, stopped.State);
        V1.ChannelStats stats = await _api.WaitStatsAsync(created.Name, s => s.Tx.DroppedStopped == 1);
        Assert.True(stats.Tx.Balanced);

        ListChannelsResponse list = await _api.Channels.ListChannelsAsync(new ListChannelsRequest());
        Assert.Contains(list.Channels, c => c.Name == created.Name);

        DeleteChannelResponse deleted = await _api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = created.Name });
        Assert.Equal(1, deleted.FinalCounters["enqueued"]);
        Assert.Equal(1, deleted.FinalCounters["dropped_stopped"]);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = created.Name }).ResponseAsync);
        Assert.DoesNotContain((await _api.Channels.ListChannelsAsync(new ListChannelsRequest())).Channels, c => c.Name == created.Name);
    }

    [Fact]
    public async Task Defaults_are_filled_in()
    {
        string id = Clients.UniqueId("defaults");
        Channel c = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = new Channel { Direction = ChannelDirection.Receive } })).Channel;
        Assert.Equal(65536, c.Capacity);
        Assert.Equal(9000, c.MaxPayload);
        // Unpinned: SCHED_OTHER (a pinned worker gets SCHED_FIFO 80; CpuPlanApiTests).
        Assert.Equal(0, c.Priority);
        Assert.Equal(-1, c.SendCpu);
        Assert.Equal(TimingStrategy.Hybrid, c.Timing);
        Assert.Equal(LatePolicy.SendLate, c.LatePolicy);
        Assert.Equal(TimestampMode.Auto, c.Timestamps);
        Assert.Equal(LaunchTimeMode.Off, c.LaunchTime);
        Assert.Equal("127.0.0.1", c.Local.Address);
        Assert.Null(c.Remote);
        await _api.DeleteAsync(c);
    }

    [Theory]
    [InlineData("::1", "::1")] // a newcomer's IPv6 loopback remote was refused: local defaulted to 127.0.0.1
    [InlineData("127.0.0.1", "127.0.0.1")]
    public async Task The_default_local_follows_the_remote(string remote, string local)
    {
        Channel c = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Clients.UniqueId("deflocal"),
            Channel = new Channel { Direction = ChannelDirection.Send, Remote = new Endpoint { Address = remote, Port = 9 }, Capacity = 64, Priority = 0 },
        })).Channel;
        Assert.Equal(local, c.Local.Address);
        await _api.DeleteAsync(c);
    }

    [Fact]
    public async Task List_pages_in_name_order()
    {
        string prefix = Clients.UniqueId("page");
        var names = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            names.Add((await _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = $"{prefix}-{i}", Channel = Receiver() })).Channel.Name);
        }
        var seen = new List<string>();
        string token = "";
        do
        {
            ListChannelsResponse page = await _api.Channels.ListChannelsAsync(new ListChannelsRequest { PageSize = 2, PageToken = token });
            Assert.InRange(page.Channels.Count, 0, 2);
            seen.AddRange(page.Channels.Select(c => c.Name));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(seen.Order(StringComparer.Ordinal), seen);
        Assert.Equal(names, seen.Where(names.Contains));
        await RpcAssert.InvalidAsync(() => _api.Channels.ListChannelsAsync(new ListChannelsRequest { PageToken = "garbage" }).ResponseAsync, "page_token");
        foreach (string name in names)
        {
            await _api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = name });
        }
    }

    public static TheoryData<string, string> InvalidChannels => new()
    {
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "local": { "address": "300.1.2.3" } }""", "channel.local.address" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "local": { "address": "localhost" } }""", "channel.local.address" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "local": { "address": "127.0.0.1", "port": 70000 } }""", "channel.local.port" },
        { """{ "direction": "CHANNEL_DIRECTION_SEND", "remote": { "address": "127.0.0.1", "port": 0 } }""", "channel.remote" },
        { """{ "direction": "CHANNEL_DIRECTION_SEND" }""", "channel.remote" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "capacity": 0 }""", "channel.capacity" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "capacity": 16777217 }""", "channel.capacity" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "priority": 100 }""", "channel.priority" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "priority": -1 }""", "channel.priority" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "max_payload": 65508 }""", "channel.max_payload" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "batch_size": 65 }""", "channel.batch_size" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "tx_ring_bytes": 1000 }""", "channel.tx_ring_bytes" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "spin_margin_ns": -5 }""", "channel.spin_margin_ns" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "timing": "TIMING_STRATEGY_SPIN", "priority": 10 }""", "channel.timing" },
        { """{ "direction": 99 }""", "channel.direction" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "timing": 7 }""", "channel.timing" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "late_policy": 9 }""", "channel.late_policy" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "timestamps": 12 }""", "channel.timestamps" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "launch_time": 4 }""", "channel.launch_time" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "flags": [ 1, 42 ] }""", "channel.flags[1]" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "launch_time": "LAUNCH_TIME_MODE_AUTO" }""", "channel.launch_time" },
        { """{ "direction": "CHANNEL_DIRECTION_RECEIVE", "hardware_stamp_timeout_ns": 5 }""", "channel.hardware_stamp_timeout_ns" },
    };

    [Theory]
    [MemberData(nameof(InvalidChannels))]
    public async Task Invalid_options_name_their_field(string channelJson, string field)
    {
        Channel channel = JsonParser.Default.Parse<Channel>(channelJson);
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = Clients.UniqueId("bad"), Channel = channel }).ResponseAsync, field);
    }

    [Fact]
    public async Task Several_violations_are_reported_together()
    {
        var channel = new Channel
        {
            Direction = (ChannelDirection)42,
            Local = new Endpoint { Address = "nope", Port = 65536 },
        };
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "Bad Name", Channel = channel }).ResponseAsync,
            "channel_id", "channel.direction", "channel.local.address", "channel.local.port");
    }

    [Fact]
    public async Task Duplicate_id_is_already_exists_and_a_taken_port_too()
    {
        string id = Clients.UniqueId("dup");
        Channel first = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = Receiver() })).Channel;
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = Receiver() }).ResponseAsync);
        Assert.Equal(first.Name, status.GetDetail<ResourceInfo>()?.ResourceName);

        Channel samePort = Receiver();
        samePort.Local.Port = first.BoundLocal.Port;
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = Clients.UniqueId("dup-port"), Channel = samePort }).ResponseAsync);
        await _api.DeleteAsync(first);
    }

    [Fact]
    public async Task Unknown_and_malformed_names()
    {
        const string missing = "channels/no-such-channel";
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = missing }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.StartChannelAsync(new StartChannelRequest { Name = missing }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.StopChannelAsync(new StopChannelRequest { Name = missing }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = missing }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Stats.GetStatsAsync(new GetStatsRequest { Name = missing }).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Packets.SendAsync(new SendRequest { Channel = missing }).ResponseAsync);
        await RpcAssert.InvalidAsync(() => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = "no-such-channel" }).ResponseAsync, "name");
        await RpcAssert.InvalidAsync(() => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/a/b" }).ResponseAsync, "name");
        await RpcAssert.InvalidAsync(() => _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = "" }).ResponseAsync, "channel");
    }
}
