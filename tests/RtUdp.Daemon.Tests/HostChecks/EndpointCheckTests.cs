using System.Net;
using System.Net.Sockets;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.HostChecks;

/// <summary>
/// Addresses the host cannot bind are refused at create, naming the field and what the host offers, and
/// nothing is left behind. Runs as any user (loopback).
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EndpointCheckTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);

    [Fact]
    public async Task A_local_address_the_host_lacks_is_invalid_argument_naming_the_field_and_the_hosts_addresses()
    {
        var channel = new Channel { Direction = ChannelDirection.Send, Local = new Endpoint { Address = "198.51.100.77", Port = 0 }, Remote = new Endpoint { Address = "127.0.0.1", Port = 5000 }, Capacity = 64, Priority = 0 };
        string id = Clients.UniqueId("noaddr");
        BadRequest bad = await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = channel }).ResponseAsync, "channel.local");
        string description = bad.FieldViolations.Single().Description;
        Assert.Contains("EADDRNOTAVAIL", description, StringComparison.Ordinal);
        Assert.Contains("this host has no address 198.51.100.77; its addresses: ", description, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1", description, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/" + id }).ResponseAsync);
    }

    [Fact]
    public async Task A_local_port_in_use_is_already_exists_naming_the_field()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var channel = new Channel { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1", Port = (uint)port }, Capacity = 64, Priority = 0 };
        string id = Clients.UniqueId("inuse");
        Google.Rpc.Status e = await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = channel }).ResponseAsync);
        Assert.StartsWith($"channel.local: bind(127.0.0.1:{port}) failed: EADDRINUSE", e.Message, StringComparison.Ordinal);
        Assert.Contains("the port is taken", e.Message, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/" + id }).ResponseAsync);
    }
}
