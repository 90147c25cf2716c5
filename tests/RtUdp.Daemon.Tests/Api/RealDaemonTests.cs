using Grpc.Health.V1;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>The API tests' daemon is the real rtudpd: its own process, listening where its configuration says, the engine its child.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RealDaemonTests(DaemonFixture daemon)
{
    [Fact]
    public async Task The_api_is_served_by_an_rtudpd_process_on_its_unix_socket_and_tcp_port_with_the_engine_as_its_child()
    {
        Assert.NotEqual(Environment.ProcessId, daemon.Process.Pid);
        string exe = File.ResolveLinkTarget($"/proc/{daemon.Process.Pid}/exe", returnFinalTarget: true)?.FullName ?? "";
        string commandLine = (await File.ReadAllTextAsync($"/proc/{daemon.Process.Pid}/cmdline")).Replace('\0', ' ');
        Assert.True(exe.EndsWith("/dotnet", StringComparison.Ordinal) || exe.EndsWith("/rtudpd", StringComparison.Ordinal), exe);
        Assert.Contains("rtudpd", commandLine, StringComparison.Ordinal);

        // The unix socket is where the configuration put it, with the daemon's mode; TCP is the kernel's port.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(daemon.SocketPath));
        Assert.Equal("127.0.0.1", daemon.TcpAddress.Host);
        Assert.NotEqual(0, daemon.TcpAddress.Port);

        // Both transports reach the same daemon and the same engine.
        foreach (string transport in new[] { "unix", "tcp" })
        {
            var health = new Health.HealthClient(daemon.Channel(transport));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        }
        string id = Clients.UniqueId("real-rx");
        Channel rx = await new Clients(daemon.Unix).CreateReceiverAsync(id);
        try
        {
            Channel overTcp = (await new Clients(daemon.Tcp).Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel;
            Assert.Equal(rx.EngineId, overTcp.EngineId);
        }
        finally
        {
            await new Clients(daemon.Unix).DeleteAsync(rx);
        }

        // The engine (pid from the daemon's STATUS) is rtudpd's child and keeps its files in the private /dev/shm directory.
        int engine = daemon.EnginePid;
        Assert.StartsWith("engine " + engine + " running", daemon.Status, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "engine.ctl")), daemon.EngineDirectory);
        Assert.StartsWith("/dev/shm/", daemon.EngineDirectory, StringComparison.Ordinal);
    }
}
