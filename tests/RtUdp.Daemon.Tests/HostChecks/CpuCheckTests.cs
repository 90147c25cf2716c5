using Google.Rpc;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.HostChecks;

/// <summary>A channel CPU the host does not have is refused at create, naming the field and the host's CPUs; the daemon stays up.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CpuCheckTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private readonly Clients _api = new(daemon.Unix);

    [Theory]
    [InlineData(ChannelDirection.Send, "channel.send_cpu")]
    [InlineData(ChannelDirection.Receive, "channel.receive_cpu")]
    public async Task A_cpu_the_host_lacks_is_invalid_argument_naming_the_field_and_the_hosts_cpus(ChannelDirection direction, string field)
    {
        int cpu = HostCpuFacts.Missing;
        var channel = new Channel { Direction = direction, Remote = new Endpoint { Address = "127.0.0.1", Port = 5000 }, Capacity = 64, Priority = 0 };
        if (direction == ChannelDirection.Send)
        {
            channel.SendCpu = cpu;
        }
        else
        {
            channel.ReceiveCpu = cpu;
        }
        string id = Clients.UniqueId("nocpu");
        BadRequest bad = await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = channel }).ResponseAsync, field);
        Assert.Equal($"cpu {cpu}: this host has CPUs {HostCpuFacts.OnlineText}", bad.FieldViolations.Single().Description);

        // Nothing was created, and the daemon goes on serving: the same channel on a CPU it has is made.
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _api.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/" + id }).ResponseAsync);
        channel.SendCpu = channel.ReceiveCpu = HostCpuFacts.Online[0];
        Channel made = (await _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = channel })).Channel;
        Assert.Empty(made.Notes);
        await _api.DeleteAsync(made);
    }

    [Fact]
    public async Task A_duplex_channel_names_each_missing_cpu()
    {
        int cpu = HostCpuFacts.Missing;
        var channel = new Channel { Direction = ChannelDirection.Duplex, Remote = new Endpoint { Address = "127.0.0.1", Port = 5000 }, Capacity = 64, Priority = 0, SendCpu = cpu, ReceiveCpu = cpu };
        await RpcAssert.InvalidAsync(() => _api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = Clients.UniqueId("nocpu2"), Channel = channel }).ResponseAsync,
            "channel.send_cpu", "channel.receive_cpu");
    }

    [Fact]
    public async Task Rtudpctl_refuses_a_cpu_the_host_lacks_and_lists_no_channel()
    {
        string id = Clients.UniqueId("ctl-nocpu");
        int cpu = HostCpuFacts.Missing;
        string[] args = ["channels", "create", id, "--direction", "send", "--remote", "127.0.0.1:5000", "--cpu", cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), "--socket", daemon.SocketPath];
        CtlProcess.Result result = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, args);
        log.WriteLine($"$ rtudpctl {string.Join(' ', args)}\n{result}");
        Assert.Equal(1, result.Exit);
        Assert.Contains($"channel.send_cpu: cpu {cpu}: this host has CPUs {HostCpuFacts.OnlineText}", result.Stderr + result.Stdout, StringComparison.Ordinal);

        CtlProcess.Result ls = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "ls", "--socket", daemon.SocketPath]);
        Assert.Equal(0, ls.Exit);
        Assert.DoesNotContain(id, ls.Stdout, StringComparison.Ordinal);
    }
}
