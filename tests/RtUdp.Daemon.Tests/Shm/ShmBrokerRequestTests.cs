using System.Globalization;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.ShmClient;
using RtUdp.Daemon.Tests.Hosting;
using Xunit.Abstractions;

namespace RtUdp.Daemon.Tests.Shm;

/// <summary>
/// The broker's answers that need no engine: bad requests (wrong magic, version, length, op), an unknown channel,
/// a user outside the socket's group, and a client with no daemon to reach. Each test runs an rtudpd of its own
/// whose engine never starts.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ShmBrokerRequestTests(ITestOutputHelper output)
{
    [Fact]
    public void Bad_requests_are_answered_with_the_status_and_the_field_at_fault()
    {
        using HostedDaemon daemon = Start();
        string socket = ShmSocket(daemon);

        ShmResponse magic = ShmRequests.Exchange(socket, ShmRequests.Attach("tx", magic: 0x12345678));
        Assert.Equal(ShmStatus.Version, magic.StatusCode);
        Assert.Equal("magic", magic.GetField());
        Assert.Contains("0x12345678", magic.GetMessage(), StringComparison.Ordinal);

        ShmResponse version = ShmRequests.Exchange(socket, ShmRequests.Attach("tx", version: 2));
        Assert.Equal(ShmStatus.Version, version.StatusCode);
        Assert.Equal("abi_version", version.GetField());
        Assert.Contains("ABI 2", version.GetMessage(), StringComparison.Ordinal);

        ShmResponse length = ShmRequests.Exchange(socket, ShmRequests.Attach("tx").AsSpan(0, 40));
        Assert.Equal(ShmStatus.Version, length.StatusCode);
        Assert.Equal("length", length.GetField());

        ShmResponse op = ShmRequests.Exchange(socket, ShmRequests.Attach("tx", op: 9));
        Assert.Equal(ShmStatus.Invalid, op.StatusCode);
        Assert.Equal("op", op.GetField());

        ShmResponse unknown = ShmRequests.Exchange(socket, ShmRequests.Attach("no-such-channel"));
        Assert.Equal(ShmStatus.NotFound, unknown.StatusCode);
        Assert.Equal("channel", unknown.GetField());
        Assert.Contains("no channel 'no-such-channel'", unknown.GetMessage(), StringComparison.Ordinal);

        // The C# client says the same through its exception.
        using ShmClient client = ShmClient.Connect(socket);
        ShmException refused = Assert.Throws<ShmException>(() => client.Attach("channels/nothing-here", ShmAbi.AttachSend));
        Assert.Equal(ShmStatus.NotFound, refused.Status);
        Assert.Contains("channel: no channel 'channels/nothing-here'", refused.Message, StringComparison.Ordinal);
        // A refusal leaves the connection usable: the next attach is answered too.
        Assert.Equal(ShmStatus.NotFound, Assert.Throws<ShmException>(() => client.Attach("still-nothing", 0)).Status);
        Assert.False(daemon.HasExited);
    }

    [Fact]
    public void A_user_outside_the_sockets_group_is_refused_by_the_daemon_naming_user_and_group()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            output.WriteLine("SKIPPED: needs root (setpriv to run the client as nobody); CI runs as root");
            return;
        }
        string python = Tool.RequireFile("/usr/bin/python3", "python3");
        Tool.Require("setpriv", "util-linux");
        // 0666, so the filesystem lets nobody through and the daemon's own check is what refuses.
        using HostedDaemon daemon = Start(mode: "0666");
        string socket = ShmSocket(daemon);
        File.SetUnixFileMode(daemon.Root, (UnixFileMode)Convert.ToInt32("755", 8));
        const string Client = """
            import socket, struct, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(sys.argv[1])
            s.send(struct.pack("<IIII64sIIQ", 0x41445452, 1, 1, 0, b"tx", 0, 0, 0))
            magic, status, channel, client, length, field, message, reserved = struct.unpack("<IiIIQ32s256sQ", s.recv(400))
            print(hex(magic), status)
            print(message.split(b"\0")[0].decode())
            """;
        ProcessResult result = ProcessRunner.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", Client, socket], TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.Stdout.Split('\n');
        Assert.Equal($"0x52445452 {(int)ShmStatus.Permission}", lines[0]);
        string group = Listeners.GroupName(StatGroup(socket));
        Assert.Matches($@"^user \S+ \(uid 65534\) is not in group {System.Text.RegularExpressions.Regex.Escape(group)} \(gid \d+\)", lines[1]);
        Assert.Contains("Same-host attach refused (pid ", daemon.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Connecting_where_no_daemon_listens_says_so_naming_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-rtudpd-{Guid.NewGuid():N}.sock");
        ShmException e = Assert.Throws<ShmException>(() => ShmClient.Connect(path));
        Assert.Equal(ShmStatus.Connect, e.Status);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("is rtudpd running", e.Message, StringComparison.Ordinal);
    }

    private static HostedDaemon Start(string mode = "0660")
    {
        string notExecutable = Path.Combine(Path.GetTempPath(), $"shm-not-an-engine-{Environment.ProcessId}");
        File.WriteAllText(notExecutable, "not an engine\n");
        return HostedDaemon.Start($$"""{ "Listen": { "UnixSocket": "$ROOT/rtudp.sock", "UnixSocketMode": "{{mode}}", "Tcp": "" } }""",
            environment: new Dictionary<string, string?> { ["RTUDP_Engine__Path"] = notExecutable }, watchdog: false);
    }

    private static string ShmSocket(HostedDaemon daemon)
    {
        daemon.WaitForOutput(l => l.Contains("Same-host clients: listening on", StringComparison.Ordinal), HostedDaemon.StartTimeout, "the shared-memory broker");
        return Path.Combine(daemon.Root, ShmAbi.SocketFileName);
    }

    private static uint StatGroup(string path) => uint.Parse(Tool.Run("stat", "-c", "%g", path).Trim(), CultureInfo.InvariantCulture);

    private static class Listeners
    {
        public static string GroupName(uint gid) => Tool.Run("getent", "group", gid.ToString(CultureInfo.InvariantCulture)).Split(':')[0];
    }
}
