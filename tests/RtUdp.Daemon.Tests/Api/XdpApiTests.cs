using System.Diagnostics;
using System.Text.RegularExpressions;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.V1;
using Xunit.Abstractions;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>
/// xdp channels as the API shows them (docs/xdp.md): a daemon in namespace A whose veth's peer is in namespace B
/// (10.237.N.0/30, plus an on-link 10.237.N+1.0/24 on A's veth where nobody answers ARP). The mode in effect, the
/// xdp default max_payload, the refusals with their google.rpc details, rtudpctl's "data path" line, the capability
/// report's xdp line, and a killed engine's program detached by the next. Needs root: network namespaces, AF_XDP
/// (CAP_NET_RAW), XDP programs (CAP_BPF, CAP_NET_ADMIN); traffic stays in the namespaces this test creates.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class XdpApiTests(ITestOutputHelper output)
{
    private static bool IsRoot => Tmds.Linux.LibC.geteuid() == 0;

    /// <summary>Two namespaces joined by a veth pair; deleted (with the veth) on dispose.</summary>
    private sealed class Pair : IDisposable
    {
        public string Ip { get; } = Tool.Require("ip", "iproute2");
        public string A { get; }
        public string B { get; }
        public string VethA { get; }
        public string VethB { get; }
        public string Subnet { get; }
        public string Silent { get; }

        public Pair(string prefix)
        {
            string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
            int n = Random.Shared.Next(0, 64) * 4;
            A = $"{prefix}-a-{suffix}";
            B = $"{prefix}-b-{suffix}";
            VethA = $"{prefix}-{suffix}a";
            VethB = $"{prefix}-{suffix}b";
            Subnet = $"10.237.{n}";
            Silent = $"10.237.{n + 1}.9";
            Tool.Run(Ip, "netns", "add", A);
            Tool.Run(Ip, "netns", "add", B);
            Tool.Run(Ip, "-n", A, "link", "add", VethA, "numtxqueues", "2", "numrxqueues", "2", "type", "veth", "peer", "name", VethB, "netns", B, "numtxqueues", "2", "numrxqueues", "2");
            Tool.Run(Ip, "-n", A, "addr", "add", $"{Subnet}.1/30", "dev", VethA);
            Tool.Run(Ip, "-n", A, "addr", "add", $"10.237.{n + 1}.1/24", "dev", VethA);
            Tool.Run(Ip, "-n", B, "addr", "add", $"{Subnet}.2/30", "dev", VethB);
            foreach ((string ns, string link) in new[] { (A, "lo"), (A, VethA), (B, "lo"), (B, VethB) })
            {
                Tool.Run(Ip, "-n", ns, "link", "set", link, "up");
            }
        }

        public string[] Wrapper => [Ip, "netns", "exec", A];

        /// <summary>"ip -d link show" of A's veth: "prog/xdp id N" while a program is attached.</summary>
        public string LinkA => Tool.Run(Ip, "-n", A, "-d", "link", "show", VethA);

        public string MacB => Tool.Run(Ip, "-n", B, "-br", "link", "show", VethB).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];

        public void Dispose()
        {
            Tool.Run(Ip, "netns", "del", A);
            Tool.Run(Ip, "netns", "del", B);
        }
    }

    private static Channel Xdp(ChannelDirection direction, string local, string remote, Action<Channel>? configure = null)
    {
        var channel = new Channel
        {
            Direction = direction,
            Local = new Endpoint { Address = local, Port = 0 },
            Remote = new Endpoint { Address = remote, Port = 9 },
            Capacity = 1024,
            Priority = 0,
            DataPath = DataPath.Xdp,
            Xdp = new XdpOptions { Queue = 0 },
            LaunchTime = direction == ChannelDirection.Receive ? LaunchTimeMode.Off : LaunchTimeMode.Auto,
        };
        configure?.Invoke(channel);
        return channel;
    }

    [GeneratedRegex(@"prog/xdp id (\d+)")]
    private static partial Regex ProgramId();

    [Fact]
    public async Task An_xdp_channel_shows_its_mode_and_what_cannot_be_had_is_refused_naming_the_field()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (network namespaces, AF_XDP, XDP programs); CI runs as root");
            return;
        }
        using var pair = new Pair("xdpapi");
        string local = $"{pair.Subnet}.1", remote = $"{pair.Subnet}.2";
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: pair.Wrapper);
        Clients api = daemon.Unix;

        // A receiving channel: the steering program in native mode (veth has XDP in its driver), copy mode, queue 0.
        Channel rx = (await api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = "xdp-rx", Channel = Xdp(ChannelDirection.Receive, local, remote), Start = true,
        })).Channel;
        output.WriteLine(rx.ToString());
        Assert.Equal(ChannelState.Running, rx.State);
        Assert.Equal(DataPath.Xdp, rx.Mode.DataPath);
        Assert.Equal(pair.VethA, rx.Mode.Interface);
        Assert.Equal(0, rx.Mode.Xdp.Queue);
        Assert.False(rx.Mode.Xdp.ZeroCopy);
        Assert.Equal(XdpAttachMode.Native, rx.Mode.Xdp.AttachMode);
        Assert.Equal("", rx.Mode.Xdp.DeviceFeatures);
        Assert.Equal(pair.MacB, rx.Mode.Xdp.NextHopMac);
        Assert.Contains("xdp: copy mode", rx.Mode.Notes, StringComparison.Ordinal);
        // Unset max_payload: what one UMEM frame holds, not the socket path's 9000.
        Assert.Equal(3970, rx.MaxPayload);
        Assert.Contains("prog/xdp", pair.LinkA, StringComparison.Ordinal);

        // Refusals at create (on the free queue 1): the engine's (FAILED_PRECONDITION, PreconditionFailure) and the config's (INVALID_ARGUMENT, BadRequest).
        (string Id, Channel Channel, string Field, string Says)[] preconditions =
        [
            ("xdp-q5", Xdp(ChannelDirection.Send, local, remote, c => c.Xdp.Queue = 5), "channel.xdp.queue", "out of range"),
            ("xdp-launch", Xdp(ChannelDirection.Send, local, remote, c => { c.Xdp.Queue = 1; c.LaunchTime = LaunchTimeMode.Required; }), "channel.launch_time", "tx-launch-time-fifo"),
            ("xdp-zc", Xdp(ChannelDirection.Send, local, remote, c => { c.Xdp.Queue = 1; c.Xdp.ZeroCopy = XdpZeroCopy.On; }), "channel.xdp.zero_copy", "zero-copy"),
            ("xdp-silent", Xdp(ChannelDirection.Send, local, pair.Silent, c => c.Xdp.Queue = 1), "channel.remote", "could not resolve the MAC"),
        ];
        foreach ((string id, Channel channel, string field, string says) in preconditions)
        {
            Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => api.Channels.CreateChannelAsync(
                new CreateChannelRequest { ChannelId = id, Channel = channel, Start = true }).ResponseAsync);
            PreconditionFailure.Types.Violation violation = Assert.Single(status.GetDetail<PreconditionFailure>()!.Violations);
            output.WriteLine($"{id}: {violation.Subject}: {violation.Description}");
            Assert.Equal(field, violation.Subject);
            Assert.Contains(says, violation.Description, StringComparison.Ordinal);
        }
        BadRequest tooBig = await RpcAssert.InvalidAsync(() => api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = "xdp-9000", Channel = Xdp(ChannelDirection.Send, local, remote, c => { c.Xdp.Queue = 1; c.MaxPayload = 9000; }), Start = true,
        }).ResponseAsync, "channel.max_payload");
        Assert.Contains("3970", tooBig.FieldViolations[0].Description, StringComparison.Ordinal);
        await RpcAssert.InvalidAsync(() => api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = "xdp-gso", Channel = Xdp(ChannelDirection.Send, local, remote, c => { c.Xdp.Queue = 1; c.Gso = GsoMode.On; }), Start = true,
        }).ResponseAsync, "channel.gso");

        // A sender on queue 1 (one AF_XDP socket per queue): no program of its own; the next hop's MAC from A's neighbour table (resolved on demand).
        Channel tx = (await api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = "xdp-tx", Channel = Xdp(ChannelDirection.Send, local, remote, c => c.Xdp.Queue = 1), Start = true,
        })).Channel;
        Assert.Equal(DataPath.Xdp, tx.Mode.DataPath);
        Assert.Equal(XdpAttachMode.Unspecified, tx.Mode.Xdp.AttachMode);
        Assert.Equal(pair.MacB, tx.Mode.Xdp.NextHopMac);
        Assert.False(tx.Mode.Xdp.ZeroCopy);
        Assert.Equal(DataPath.Xdp, tx.DataPath);

        // rtudpctl channels show: the data path line.
        CtlProcess.Result shown = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "show", "xdp-rx", "--socket", daemon.Fixture.SocketPath]);
        output.WriteLine(shown.ToString());
        Assert.Equal(0, shown.Exit);
        Assert.Contains($"data path: xdp on {pair.VethA} queue 0, copy mode; program native; device offers: none", shown.Stdout, StringComparison.Ordinal);
        CtlProcess.Result shownTx = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "show", "xdp-tx", "--socket", daemon.Fixture.SocketPath]);
        output.WriteLine(shownTx.ToString());
        Assert.Matches($@"(?m)^data path: xdp on {pair.VethA} queue 1, copy mode; send: (bulk, )?to {pair.MacB}; device offers: none$", shownTx.Stdout);

        // The daemon and its channels carry on.
        ListChannelsResponse list = await api.Channels.ListChannelsAsync(new ListChannelsRequest());
        Assert.Equal(["channels/xdp-rx", "channels/xdp-tx"], list.Channels.Select(c => c.Name).Order(StringComparer.Ordinal));
        Assert.Equal(ChannelState.Running, (await api.Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel.State);

        // The capability report says what the veth offers AF_XDP: native XDP with redirect, no zero-copy, no TX metadata.
        GetCapabilitiesResponse caps = await api.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest());
        V1.InterfaceCapabilities veth = caps.Interfaces.Single(i => i.Name == pair.VethA);
        output.WriteLine($"{veth.Name}: {veth.Xdp}");
        Assert.StartsWith("xdp: basic redirect", veth.Xdp, StringComparison.Ordinal);
        Assert.Contains("; zero-copy no (copy mode); xsk tx metadata: none", veth.Xdp, StringComparison.Ordinal);
        Assert.False(veth.XdpZeroCopy);
        Assert.False(veth.XdpTxTimestamp || veth.XdpTxChecksum || veth.XdpTxLaunchTime);
        CtlProcess.Result ctlCaps = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["caps", "--socket", daemon.Fixture.SocketPath]);
        Assert.Contains($"{pair.VethA} {veth.Xdp}", ctlCaps.Stdout, StringComparison.Ordinal);

        await api.DeleteAsync(rx, tx);
        Assert.DoesNotContain("prog/xdp", pair.LinkA, StringComparison.Ordinal);

        // rtudpctl channels create --data-path xdp: the same channel from the command line.
        CtlProcess.Result created = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "create", "xdp-ctl", "--direction", "receive", "--local", $"{local}:0",
            "--remote", $"{remote}:9", "--priority", "0", "--data-path", "xdp", "--xdp-queue", "1", "--xdp-attach", "generic", "--socket", daemon.Fixture.SocketPath]);
        output.WriteLine(created.ToString());
        Assert.Equal(0, created.Exit);
        Assert.Contains($"data path: xdp on {pair.VethA} queue 1, copy mode; program generic; device offers: none", created.Stdout, StringComparison.Ordinal);
        string linkGeneric = pair.LinkA;
        Assert.True(linkGeneric.Contains("xdpgeneric", StringComparison.Ordinal), linkGeneric);
        Assert.Equal(0, (await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "rm", "xdp-ctl", "--socket", daemon.Fixture.SocketPath])).Exit);
        Assert.DoesNotContain("prog/xdp", pair.LinkA, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_killed_engines_program_is_detached_by_the_engine_the_daemon_starts_next()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (network namespaces, AF_XDP, XDP programs); CI runs as root");
            return;
        }
        using var pair = new Pair("xdpkill");
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: pair.Wrapper);
        Clients api = daemon.Unix;
        Channel rx = (await api.Channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = "xdp-killed", Channel = Xdp(ChannelDirection.Receive, $"{pair.Subnet}.1", $"{pair.Subnet}.2"), Start = true,
        })).Channel;
        Match before = ProgramId().Match(pair.LinkA);
        Assert.True(before.Success, pair.LinkA);
        output.WriteLine($"program before: {before.Value}");

        // SIGKILL: the engine cannot detach; libxdp's attachment outlives it.
        int pid = daemon.Fixture.EnginePid;
        Assert.Equal(0, Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL));
        int next = await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(20), restarts: 1);
        Assert.NotEqual(pid, next);

        // The next engine detached the dead one's program before taking commands; the supervisor then restores the
        // channel, which attaches a program of its own. The dead one's program id never comes back.
        var clock = Stopwatch.StartNew();
        string link;
        while ((link = pair.LinkA) is var l && ProgramId().Match(l) is { Success: true } m && m.Groups[1].Value == before.Groups[1].Value)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the dead engine's program is still attached:\n{link}\n--- daemon ---\n{daemon.Log}");
            await Task.Delay(50);
        }
        output.WriteLine($"after restart: {ProgramId().Match(link).Value}");
        Channel restored;
        while ((restored = (await api.Channels.GetChannelAsync(new GetChannelRequest { Name = rx.Name })).Channel).State != ChannelState.Running)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"channel not restored: {restored}\n{daemon.Log}");
            await Task.Delay(50);
        }
        Assert.Equal(DataPath.Xdp, restored.Mode.DataPath);
        Assert.Equal(XdpAttachMode.Native, restored.Mode.Xdp.AttachMode);

        // Deleting the restored channel leaves nothing attached.
        await api.DeleteAsync(restored);
        Assert.DoesNotContain("prog/xdp", pair.LinkA, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_the_daemon_and_its_engine_are_killed_the_next_daemons_engine_detaches_the_program()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (network namespaces, AF_XDP, XDP programs); CI runs as root");
            return;
        }
        using var pair = new Pair("xdprst");
        // Both daemons use one engine directory, as the unit's /run/rtudp: the record of attached interfaces is there.
        string directory = Path.Combine("/dev/shm", $"{pair.A}-engine");
        Directory.CreateDirectory(directory);
        string[] wrapper = [.. pair.Wrapper, "env", $"RTUDP_Engine__Directory={directory}"];
        OwnedDaemon first = await OwnedDaemon.StartAsync(wrapper: wrapper);
        try
        {
            await first.Unix.Channels.CreateChannelAsync(new CreateChannelRequest
            {
                ChannelId = "xdp-orphan", Channel = Xdp(ChannelDirection.Receive, $"{pair.Subnet}.1", $"{pair.Subnet}.2"), Start = true,
            });
            Assert.Contains("prog/xdp", pair.LinkA, StringComparison.Ordinal);
            // Both die at once, as in a power-cut of the service: nobody detaches.
            int engine = first.Fixture.EnginePid;
            Assert.Equal(0, Tmds.Linux.LibC.kill(first.Fixture.Process.Pid, Tmds.Linux.LibC.SIGKILL));
            Assert.Equal(0, Tmds.Linux.LibC.kill(engine, Tmds.Linux.LibC.SIGKILL));
            var died = Stopwatch.StartNew();
            while (Directory.Exists($"/proc/{engine}") && !File.ReadAllText($"/proc/{engine}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal))
            {
                Assert.True(died.Elapsed < TimeSpan.FromSeconds(10), "the engine did not die");
                await Task.Delay(20);
            }
            Assert.Contains("prog/xdp", pair.LinkA, StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
        }

        // A new daemon (no channels: its catalog is empty) starts its engine, which detaches the leftover.
        try
        {
            await using OwnedDaemon next = await OwnedDaemon.StartAsync(wrapper: wrapper);
            var clock = Stopwatch.StartNew();
            string link;
            while ((link = pair.LinkA).Contains("prog/xdp", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the killed engine's program is still attached:\n{link}\n--- daemon ---\n{next.Log}");
                await Task.Delay(50);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Without_the_xdp_capabilities_an_xdp_channel_is_permission_denied_naming_what_is_missing()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (network namespaces, setpriv's bounding set)");
            return;
        }
        string setpriv = Tool.Require("setpriv", "util-linux");
        using var pair = new Pair("xdpcap");
        string local = $"{pair.Subnet}.1", remote = $"{pair.Subnet}.2";
        // CAP_SYS_ADMIN goes too: it stands in for CAP_BPF and CAP_PERFMON (kernels before 5.8 had only it). Without it
        // the engine cannot mount a bpffs either, so it gets one mounted here, outside /sys (which ip netns exec remounts).
        // The inheritable set is emptied too: where it is full (a systemd-nspawn container's root), exec would give
        // root every inheritable capability back whatever the bounding set says.
        string bpffs = Path.Combine("/run", $"{pair.A}-bpffs");
        Directory.CreateDirectory(bpffs);
        Tool.Run("mount", "-t", "bpf", "bpf", bpffs);
        (string Dropped, string Says)[] cases =
        [
            ("-net_raw,-bpf,-perfmon,-sys_admin", "needs CAP_NET_RAW"),
            ("-bpf,-perfmon,-sys_admin", "needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"),
        ];
        try
        {
            foreach ((string dropped, string says) in cases)
            {
                await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: [.. pair.Wrapper, "env", $"LIBXDP_BPFFS={bpffs}", setpriv, "--inh-caps", "-all", "--bounding-set", dropped]);
                Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest
                {
                    ChannelId = "xdp-denied", Channel = Xdp(ChannelDirection.Receive, local, remote), Start = true,
                }).ResponseAsync);
                output.WriteLine($"{dropped}: {status.Message}");
                Assert.Contains(says, status.Message, StringComparison.Ordinal);
                Assert.Contains("docs/xdp.md", status.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("prog/xdp", pair.LinkA, StringComparison.Ordinal);
                // The daemon carries on: a socket channel on the same address works.
                Channel plain = (await daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest
                {
                    ChannelId = "plain", Channel = Xdp(ChannelDirection.Receive, local, remote, c => { c.DataPath = DataPath.Socket; c.Xdp = null; }), Start = true,
                })).Channel;
                Assert.Equal(ChannelState.Running, plain.State);
            }
        }
        finally
        {
            Tool.Run("umount", bpffs);
            Directory.Delete(bpffs);
        }
    }
}
