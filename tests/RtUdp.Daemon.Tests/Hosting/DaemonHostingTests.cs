using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>The real rtudpd: systemd notifications, watchdog, listeners, engine restart, drain at stop, bad configuration.</summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonHostingTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(10);

    /// <summary>A receiving channel on <paramref name="rxPort"/> and a sending one to <paramref name="txRemotePort"/>, both SCHED_OTHER.</summary>
    private static string Config(int rxPort = 0, int txRemotePort = 9, string extra = "") => $$"""
        {
          "Listen": { "Tcp": "" },
          "Engine": { "DrainWindow": "1s" {{extra}} },
          "Channels": [
            { "name": "rx", "direction": "receive", "local": "127.0.0.1:{{rxPort}}", "priority": 0, "capacity": 1024 },
            { "name": "tx", "direction": "send", "remote": "127.0.0.1:{{txRemotePort}}", "priority": 0, "timing": "sleep", "capacity": 1024 }
          ]
        }
        """;

    [Fact]
    public async Task Ready_after_engine_and_channels_then_watchdog_status_socket_and_stopping()
    {
        using var daemon = HostedDaemon.Start(Config());
        string ready = daemon.WaitForMessage(m => HostedDaemon.Has(m, "READY=1"), HostedDaemon.StartTimeout, "READY=1");
        // At READY the engine is up and the configured channels are armed (their files exist).
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "engine.ctl")));
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "channel-1.shm")));
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "channel-2.shm")));
        // ... and the gRPC socket is bound with its mode, so a client started on READY connects.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(daemon.DefaultSocket));
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            probe.Connect(new UnixDomainSocketEndPoint(daemon.DefaultSocket));
        }
        int enginePid = HostedDaemon.EnginePidOf(ready);
        Assert.Equal($"engine {enginePid} running, 2 channels (2 running)", HostedDaemon.Field(ready, "STATUS"));
        Assert.Equal(daemon.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), HostedDaemon.Field(ready, "MAINPID"));
        // The daemon sent STATUS lines before READY ("starting engine") and READY only once.
        Assert.Contains(daemon.AllMessages, m => HostedDaemon.Field(m, "STATUS") == "starting engine");

        for (int i = 0; i < 3; i++)
        {
            daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), HostedDaemon.WatchdogTimeout, $"WATCHDOG=1 #{i + 1}");
        }

        // The unix socket: default path under $XDG_RUNTIME_DIR/rtudp, mode 0660, speaking HTTP/2.
        daemon.WaitForOutput(l => l.Contains("Listening on unix socket", StringComparison.Ordinal), Short, "unix socket listening");
        Assert.True(File.Exists(daemon.DefaultSocket), daemon.DefaultSocket);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(daemon.DefaultSocket));
        using (var http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(daemon.DefaultSocket), token);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://rtudpd/nothing-here") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using HttpResponseMessage response = await http.SendAsync(request);
            Assert.Equal(HttpVersion.Version20, response.Version);
        }

        HostedDaemon.Signal(daemon.Pid, SIGTERM);
        string stopping = daemon.WaitForMessage(m => HostedDaemon.Has(m, "STOPPING=1"), Short, "STOPPING=1");
        Assert.NotNull(HostedDaemon.Field(stopping, "STATUS"));
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Single(daemon.AllMessages, m => HostedDaemon.Has(m, "READY=1"));
        Assert.Contains("Engine stopped (clean: true)", daemon.Output, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Under_the_watchdog_a_stalled_engine_is_restarted_once_by_rtudpd_and_WATCHDOG_1_never_stops()
    {
        using var daemon = HostedDaemon.Start(Config());
        int engine = daemon.WaitForReady();
        daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), HostedDaemon.WatchdogTimeout, "WATCHDOG=1 before SIGSTOP");
        TimeSpan stoppedAt = daemon.Elapsed;
        HostedDaemon.Signal(engine, SIGSTOP);
        try
        {
            // The ladder under WATCHDOG_USEC = 6 s: not serving after 1.5 s, engine killed after 3 s.
            // Parts cross the bound one sample apart when their last beats were (an idle worker beats every 100 ms):
            // the STATUS that names the conductor names them all.
            string stalled = daemon.WaitForMessage(m => (HostedDaemon.Field(m, "STATUS") ?? "") is { } s && s.StartsWith($"engine {engine} stalled:", StringComparison.Ordinal)
                && s.Contains("conductor (no heartbeat for", StringComparison.Ordinal), Short, "STATUS engine stalled, naming the conductor");
            string status = HostedDaemon.Field(stalled, "STATUS")!;
            Assert.Contains("conductor (no heartbeat for", status, StringComparison.Ordinal);
            Assert.Contains("channel 1 'rx' receive worker", status, StringComparison.Ordinal);
            Assert.Contains("channel 2 'tx' send worker", status, StringComparison.Ordinal);
            string running = daemon.WaitForMessage(m => (HostedDaemon.Field(m, "STATUS") ?? "").StartsWith("engine ", StringComparison.Ordinal) && (HostedDaemon.Field(m, "STATUS") ?? "").Contains(" running,", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "STATUS engine running after the stall restart");
            int restarted = HostedDaemon.EnginePidOf(running);
            Assert.NotEqual(engine, restarted);
            Assert.StartsWith($"engine {restarted} running, 2 channels (2 running), 1 restarts", HostedDaemon.Field(running, "STATUS"), StringComparison.Ordinal);
        }
        finally
        {
            _ = kill(engine, SIGCONT);
        }
        TimeSpan restartedAt = daemon.Elapsed;
        daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), HostedDaemon.WatchdogTimeout, "WATCHDOG=1 after the restart");
        daemon.WaitForOutput(l => l.Contains("killing the engine for a restart", StringComparison.Ordinal), Short, "the stall kill logged");
        Assert.False(Directory.Exists($"/proc/{engine}"), "the stalled engine was killed");

        (TimeSpan At, string Message)[] messages = [.. daemon.TimedMessages];
        TimeSpan stallSeen = messages.First(m => (HostedDaemon.Field(m.Message, "STATUS") ?? "").Contains(" stalled:", StringComparison.Ordinal)).At;
        TimeSpan killSeen = messages.First(m => (HostedDaemon.Field(m.Message, "STATUS") ?? "").EndsWith("killing it for a restart", StringComparison.Ordinal)).At;
        Assert.True(stallSeen - stoppedAt >= TimeSpan.FromSeconds(1.4), $"not serving {stallSeen - stoppedAt} after the stop: the health bound is 1.5 s");
        Assert.True(killSeen - stoppedAt >= TimeSpan.FromSeconds(2.9), $"killed {killSeen - stoppedAt} after the stop: the restart bound is 3 s");
        // systemd would have acted on a gap of WATCHDOG_USEC: there was none, and rtudpd never withheld it.
        TimeSpan[] pings = [.. messages.Where(m => HostedDaemon.Has(m.Message, "WATCHDOG=1")).Select(m => m.At)];
        Assert.Contains(pings, p => p > restartedAt);
        for (int i = 1; i < pings.Length; i++)
        {
            Assert.True(pings[i] - pings[i - 1] < HostedDaemon.WatchdogTimeout, $"WATCHDOG=1 gap of {pings[i] - pings[i - 1]} at {pings[i]}");
        }
        Assert.DoesNotContain("Withholding WATCHDOG=1", daemon.Output, StringComparison.Ordinal);
        HostedDaemon.Signal(daemon.Pid, SIGTERM);
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Under_the_watchdog_an_engine_that_cannot_be_restarted_withholds_WATCHDOG_1_until_one_runs_again()
    {
        // The engine through a wrapper that execs it only while a file exists: removing the file makes restarts fail.
        string allow = Path.Combine(Path.GetTempPath(), $"rtudp-allow-{Guid.NewGuid():N}");
        string wrapper = allow + ".sh";
        string engineBinary = Path.Combine(Path.GetDirectoryName(RtUdp.Testing.DaemonBinary.Locate() is ("dotnet", [string dll]) ? dll : RtUdp.Testing.DaemonBinary.Locate().FileName)!, "rtudp-engine");
        File.WriteAllText(allow, "");
        File.WriteAllText(wrapper, $"#!/bin/sh\n[ -e '{allow}' ] || {{ echo 'engine not allowed' >&2; exit 1; }}\nexec '{engineBinary}' \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using var daemon = HostedDaemon.Start(Config(extra: $", \"Path\": \"{wrapper}\", \"MaxRestartDelay\": \"500ms\""));
            int engine = daemon.WaitForReady();
            daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), HostedDaemon.WatchdogTimeout, "WATCHDOG=1 while the engine runs");
            File.Delete(allow);
            TimeSpan killedAt = daemon.Elapsed;
            HostedDaemon.Signal(engine, SIGKILL);
            // Down and not coming back: WATCHDOG=1 stops once it has been down 6 s (restart bound 3 s + 3 s to start).
            string withheld = daemon.WaitForMessage(m => (HostedDaemon.Field(m, "STATUS") ?? "").StartsWith("not healed: engine down", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "STATUS not healed");
            Assert.EndsWith("WATCHDOG=1 withheld", HostedDaemon.Field(withheld, "STATUS"), StringComparison.Ordinal);
            TimeSpan withheldAt = daemon.Elapsed;
            Assert.True(withheldAt - killedAt >= TimeSpan.FromSeconds(5.9), $"withheld {withheldAt - killedAt} after the engine died");
            List<string> meanwhile = daemon.Collect(HostedDaemon.WatchdogTimeout / 2 + TimeSpan.FromMilliseconds(500));
            Assert.DoesNotContain(meanwhile, m => HostedDaemon.Has(m, "WATCHDOG=1"));

            File.WriteAllText(allow, "");
            daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), TimeSpan.FromSeconds(30), "WATCHDOG=1 once an engine runs again");
            daemon.WaitForOutput(l => l.Contains("Withholding WATCHDOG=1: engine down", StringComparison.Ordinal), Short, "the withheld watchdog logged");
            daemon.WaitForOutput(l => l.Contains("Engine healed; WATCHDOG=1 resumed", StringComparison.Ordinal), Short, "the resumed watchdog logged");
            HostedDaemon.Signal(daemon.Pid, SIGTERM);
            Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(allow);
            File.Delete(wrapper);
        }
    }

    [Fact]
    public void Killed_engine_is_restarted_channels_restored_and_loss_logged()
    {
        using var sink = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        int rxPort = FreeUdpPort();
        using var daemon = HostedDaemon.Start(Config(rxPort, ((IPEndPoint)sink.Client.LocalEndPoint!).Port));
        int engine = daemon.WaitForReady();

        // Three datagrams received and never drained, five packets queued for a minute from now.
        using (var sender = new UdpClient())
        {
            for (int i = 0; i < 3; i++)
            {
                sender.Send(new byte[16], 16, new IPEndPoint(IPAddress.Loopback, rxPort));
            }
        }
        using (ChannelRegion rx = ChannelRegion.Open(Path.Combine(daemon.EngineDirectory, "channel-1.shm")))
        {
            Wait.Until(() => rx.Read(ChannelCounter.RxWritten) == 3, Short, "3 datagrams in the RX ring");
        }
        using (ChannelRegion tx = ChannelRegion.Open(Path.Combine(daemon.EngineDirectory, "channel-2.shm")))
        {
            for (int i = 0; i < 5; i++)
            {
                Enqueue(tx, Libc.MonotonicNow() + 60_000_000_000L, i);
            }
            Wait.Until(() => tx.Read(ChannelCounter.Scheduled) == 5, Short, "5 packets scheduled");
        }

        HostedDaemon.Signal(engine, SIGKILL);
        string running = daemon.WaitForMessage(m => (HostedDaemon.Field(m, "STATUS") ?? "").StartsWith("engine ", StringComparison.Ordinal) && (HostedDaemon.Field(m, "STATUS") ?? "").Contains(" running,", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "STATUS engine running after the restart");
        int restarted = HostedDaemon.EnginePidOf(running);
        Assert.NotEqual(engine, restarted);
        Assert.StartsWith($"engine {restarted} running, 2 channels (2 running), 1 restarts, lost 5 queued and 3 received packets", HostedDaemon.Field(running, "STATUS"), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "channel-1.shm")));
        Assert.True(File.Exists(Path.Combine(daemon.EngineDirectory, "channel-2.shm")));
        daemon.WaitForOutput(l => l.Contains($"Channel 1 'rx' lost with engine {engine}: 0 queued packets never sent, 3 received packets never drained", StringComparison.Ordinal), Short, "rx loss");
        daemon.WaitForOutput(l => l.Contains($"Channel 2 'tx' lost with engine {engine}: 5 queued packets never sent, 0 received packets never drained", StringComparison.Ordinal), Short, "tx loss");
        daemon.WaitForOutput(l => l.Contains($"Engine {restarted} restarted: 2 channels restored, 0 failed", StringComparison.Ordinal), Short, "restore");

        // The restored receiving channel works again on its configured port.
        using (var sender = new UdpClient())
        {
            sender.Send(new byte[16], 16, new IPEndPoint(IPAddress.Loopback, rxPort));
        }
        using (ChannelRegion rx = ChannelRegion.Open(Path.Combine(daemon.EngineDirectory, "channel-1.shm")))
        {
            Wait.Until(() => rx.Read(ChannelCounter.RxWritten) == 1, Short, "a datagram received by the restored channel");
        }
        daemon.WaitForMessage(m => HostedDaemon.Has(m, "WATCHDOG=1"), HostedDaemon.WatchdogTimeout, "WATCHDOG=1 after the restart");
        HostedDaemon.Signal(daemon.Pid, SIGTERM);
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Sigterm_sends_what_is_due_within_the_drain_window_and_counts_the_rest_dropped()
    {
        using var sink = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var daemon = HostedDaemon.Start(Config(txRemotePort: ((IPEndPoint)sink.Client.LocalEndPoint!).Port));
        daemon.WaitForReady();
        using (ChannelRegion tx = ChannelRegion.Open(Path.Combine(daemon.EngineDirectory, "channel-2.shm")))
        {
            long now = Libc.MonotonicNow();
            for (int i = 0; i < 4; i++)
            {
                Enqueue(tx, now + 400_000_000L, i); // due within the 1 s window
            }
            for (int i = 0; i < 6; i++)
            {
                Enqueue(tx, now + 60_000_000_000L, 100 + i); // due long after it
            }
            Wait.Until(() => tx.Read(ChannelCounter.Scheduled) == 10, Short, "10 packets scheduled");
        }
        HostedDaemon.Signal(daemon.Pid, SIGTERM);
        daemon.WaitForMessage(m => HostedDaemon.Has(m, "STOPPING=1"), Short, "STOPPING=1");
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Contains("Channel 2 'tx' final: enqueued 10, sent 4, dropped late/error 0, dropped at stop 6", daemon.Output, StringComparison.Ordinal);
        Assert.Contains("4 packets sent during the drain, 6 dropped at stop", daemon.Output, StringComparison.Ordinal);
        Assert.Equal(4, CountDatagrams(sink));
    }

    [Fact]
    public void Ctrl_C_on_a_terminal_drains_like_sigterm_and_the_engine_waits_for_rtudpd()
    {
        // ./run.sh in a terminal: Ctrl+C sends SIGINT to every process of the foreground group, the engine too.
        using var sink = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var daemon = HostedDaemon.Start(Config(txRemotePort: ((IPEndPoint)sink.Client.LocalEndPoint!).Port), ownProcessGroup: true);
        int engine = daemon.WaitForReady();
        Assert.Equal(daemon.Pid, ProcessGroupOf(engine));
        using (ChannelRegion tx = ChannelRegion.Open(Path.Combine(daemon.EngineDirectory, "channel-2.shm")))
        {
            long now = Libc.MonotonicNow();
            for (int i = 0; i < 3; i++)
            {
                Enqueue(tx, now + 400_000_000L, i); // due within the 1 s window
            }
            Enqueue(tx, now + 60_000_000_000L, 100); // due long after it
            Wait.Until(() => tx.Read(ChannelCounter.Scheduled) == 4, Short, "4 packets scheduled");
        }
        HostedDaemon.Signal(-daemon.Pid, SIGINT);
        Assert.Equal(0, daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("exited unexpectedly", daemon.Output, StringComparison.Ordinal);
        Assert.Contains("Channel 2 'tx' final: enqueued 4, sent 3, dropped late/error 0, dropped at stop 1", daemon.Output, StringComparison.Ordinal);
        Assert.Contains("Engine stopped (clean: true)", daemon.Output, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, CountDatagrams(sink));
    }

    /// <summary>The process group of <paramref name="pid"/>: /proc/PID/stat's fifth field, after the parenthesised name.</summary>
    private static int ProcessGroupOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("--Listen:Tcp=1.2.3.4:99999", null, "Listen:Tcp: '1.2.3.4:99999' is not a valid endpoint")]
    [InlineData(null, "RTUDP_Listen__Tcp=nonsense", "Listen:Tcp: 'nonsense' is not a valid endpoint")]
    [InlineData("--Channels:0:name=a --Channels:0:direction=receive", "RTUDP_Channels__0__priority=150", "Channels:0:priority: must be 0 (SCHED_OTHER) or a SCHED_FIFO priority 1-99")]
    [InlineData("--Channels:0:name=a", "RTUDP_Channels__0__direction=sideways", "Channels:0:direction: 'sideways' is not one of send, receive, duplex")]
    [InlineData("--Channels:0:name=a --Channels:0:direction=receive", "RTUDP_Channels__0__flowClock=sundial", "Channels:0:flowClock: 'sundial' is not one of monotonic, tai")]
    [InlineData("--Channels:0:name=a --Channels:0:direction=send --Channels:0:remote=127.0.0.1:9", "RTUDP_Channels__0__flags=sequenced,reflect", "Channels:0:flags: reflect needs a receiving channel (receive or duplex)")]
    [InlineData("--Engine:DrainWindow=soon", null, "Engine:DrainWindow: 'soon' is not a duration")]
    [InlineData("--Listen:UnixSocketMode=999", null, "Listen:UnixSocketMode: '999' is not an octal file mode")]
    [InlineData("--Listen:Tls:RequireClientCertificate=true", null, "Listen:Tls:CertificatePath:")]
    public void Invalid_configuration_stops_the_start_naming_the_key(string? argument, string? variable, string expected)
    {
        var environment = new Dictionary<string, string?>();
        if (variable is not null)
        {
            string[] pair = variable.Split('=', 2);
            environment[pair[0]] = pair[1];
        }
        using var daemon = HostedDaemon.Start(null, argument is null ? [] : argument.Split(' '), environment, watchdog: false);
        Assert.NotEqual(0, daemon.WaitForExit(Short));
        Assert.Contains(expected, daemon.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(daemon.AllMessages, m => HostedDaemon.Has(m, "READY=1"));
        Assert.False(Directory.Exists(daemon.EngineDirectory), "no engine may start on a bad configuration");
    }

    [Fact]
    public void Non_loopback_tcp_without_tls_is_refused_with_a_clear_message()
    {
        using var daemon = HostedDaemon.Start(null, ["--Listen:Tcp=0.0.0.0:50999"], watchdog: false);
        Assert.NotEqual(0, daemon.WaitForExit(Short));
        Assert.Contains("Listen:Tcp: '0.0.0.0:50999' is not a loopback address and Listen:Tls is not configured", daemon.Errors, StringComparison.Ordinal);
        Assert.Contains("Listen:AllowNonLoopbackWithoutTls=true", daemon.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_explicit_config_file_is_an_error()
    {
        using var daemon = HostedDaemon.Start(null, ["--config", "$ROOT/absent.json"], watchdog: false);
        Assert.NotEqual(0, daemon.WaitForExit(Short));
        Assert.Contains("--config:", daemon.Errors, StringComparison.Ordinal);
    }

    private static int CountDatagrams(UdpClient sink)
    {
        int count = 0;
        var from = new IPEndPoint(IPAddress.Any, 0);
        sink.Client.ReceiveTimeout = 500;
        try
        {
            while (true)
            {
                sink.Receive(ref from);
                count++;
            }
        }
        catch (SocketException)
        {
            return count;
        }
    }

    private static int FreeUdpPort()
    {
        using var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
    }

    /// <summary>What ChannelHandle.TryEnqueue does: claim, count, write, commit, wake the send worker.</summary>
    private static unsafe void Enqueue(ChannelRegion region, long dueNs, long id)
    {
        int index = region.TxRing.TryClaim(PacketRecordType.Packet, sizeof(TxPacketHeader) + 8);
        Assert.True(index >= 0, "TX ring full");
        region.AddAtomic(ChannelCounter.Enqueued, 1);
        byte* body = region.TxRing.Body(index);
        *(TxPacketHeader*)body = new TxPacketHeader { DueNs = dueNs, PacketId = id };
        *(long*)(body + sizeof(TxPacketHeader)) = id;
        region.TxRing.Commit(index);
        region.TxRing.ConsumerWait.Signal();
    }
}
