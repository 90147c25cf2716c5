using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>
/// GRO and busy-poll through the API: the channel's mode says UDP_GRO is on and how the worker waits, and a
/// packet split out of a coalesced datagram comes with coalesced set (its stamps are that datagram's).
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GroBusyPollApiTests(DaemonFixture daemon)
{
    private const int SOL_UDP = 17;
    private const int UDP_SEGMENT = 103;

    private readonly Clients _api = new(daemon.Unix);

    private async Task<Channel> CreateAsync(string id, Action<Channel> configure)
    {
        var channel = new Channel
        {
            Direction = ChannelDirection.Receive,
            Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
            Capacity = 1024,
            MaxPayload = 2048,
            Priority = 0,
        };
        configure(channel);
        return (await _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Start = true, Channel = channel })).Channel;
    }

    [Fact]
    public async Task Packets_of_a_coalesced_datagram_come_flagged_coalesced_with_one_stamp()
    {
        Channel rx = await CreateAsync(Clients.UniqueId("gro-api"), c => c.Gro = GroMode.On);
        Assert.True(rx.Mode.Gro);
        Assert.Equal(ReceiveWait.Poll, rx.Mode.ReceiveWait);

        // A UDP GSO send on loopback reaches a UDP_GRO socket whole: three packets of 100 bytes and one of 40.
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.SetRawSocketOption(SOL_UDP, UDP_SEGMENT, BitConverter.GetBytes(100));
        byte[] train = new byte[340];
        for (int i = 0; i < train.Length; i++)
        {
            train[i] = (byte)(i / 100);
        }
        sender.SendTo(train, new IPEndPoint(IPAddress.Loopback, (int)rx.BoundLocal.Port));

        var packets = new List<ReceivedPacket>();
        while (packets.Count < 4)
        {
            ReceiveResponse batch = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 4, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) });
            Assert.NotEmpty(batch.Packets);
            packets.AddRange(batch.Packets);
        }
        Assert.Equal([100, 100, 100, 40], packets.Select(p => p.Payload.Length));
        Assert.Equal([0, 1, 2, 3], packets.Select(p => (int)p.Payload[0]));
        Assert.All(packets, p =>
        {
            Assert.True(p.Coalesced);
            Assert.Equal(packets[0].MonotonicNs, p.MonotonicNs);
            Assert.Equal(packets[0].SoftwareStampNs, p.SoftwareStampNs);
        });

        V1.ChannelStats stats = await _api.WaitStatsAsync(rx.Name, s => s.Rx.Received == 4);
        Assert.Equal(4, stats.Rx.Drained);
        Assert.Equal(1, stats.Counters["rx_coalesced"]);
        Assert.Equal(4, stats.Counters["rx_coalesced_packets"]);
        await _api.DeleteAsync(rx);
    }

    [Fact]
    public async Task A_busy_poll_channel_reports_spin_on_loopback()
    {
        Channel rx = await CreateAsync(Clients.UniqueId("bp-api"), c =>
        {
            c.ReceiveStrategy = ReceiveStrategy.BusyPoll;
            c.BusyPollNs = 50_000;
            c.Gro = GroMode.Off;
        });
        Assert.Equal(ReceiveWait.Spin, rx.Mode.ReceiveWait);
        Assert.False(rx.Mode.Gro);
        Channel got = (await _api.Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel;
        Assert.Equal(ReceiveStrategy.BusyPoll, got.ReceiveStrategy);
        Assert.Equal(50_000, got.BusyPollNs);
        Assert.Equal(ReceiveWait.Spin, got.Mode.ReceiveWait);
        await _api.DeleteAsync(rx);
    }
}
