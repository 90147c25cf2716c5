using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.Daemon.Tests.Hosting;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.HostChecks;

/// <summary>
/// Settings the host's present state cannot honour, each against a daemon of its own started in that state:
/// a CPU outside the daemon's affinity (taskset -c 0) is FAILED_PRECONDITION naming the allowed set, at
/// create and for a configured channel at start; a SCHED_FIFO priority beyond RLIMIT_RTPRIO without
/// CAP_SYS_NICE runs degraded with a note (API, channels create, channels ls) or, with REQUIRE_REALTIME, is
/// FAILED_PRECONDITION. Runs as root or not: as root the daemon is started without CAP_SYS_NICE (setpriv).
/// </summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostStateCheckTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private static Channel Sender(int priority = 0) => new()
    {
        Direction = ChannelDirection.Send,
        Remote = new Endpoint { Address = "127.0.0.1", Port = 5000 },
        Capacity = 64,
        Priority = priority,
        Timing = TimingStrategy.Sleep,
    };

    private static string[] PinnedToFirstCpu() => [RtUdp.Testing.Tool.Require("taskset", "util-linux"), "-c", HostCpuFacts.Online[0].ToString(CultureInfo.InvariantCulture)];

    [Fact]
    public async Task A_cpu_outside_the_daemons_affinity_is_failed_precondition_naming_the_allowed_set()
    {
        if (HostCpuFacts.Online.Count < 2)
        {
            log.WriteLine("SKIPPED: needs 2 CPUs to start rtudpd on one of them");
            return;
        }
        int allowed = HostCpuFacts.Online[0], outside = HostCpuFacts.Online[1];
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: PinnedToFirstCpu());
        Channel channel = Sender();
        channel.SendCpu = outside;
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "outside", Channel = channel }).ResponseAsync);
        PreconditionFailure.Types.Violation violation = Assert.Single(status.GetDetail<PreconditionFailure>()!.Violations);
        Assert.Equal("channel.send_cpu", violation.Subject);
        Assert.Equal($"cpu {outside}: not in the CPUs the engine may use ({allowed}: its affinity and cgroup cpuset)", violation.Description);

        // The allowed CPU is taken, and the daemon is still up.
        channel.SendCpu = allowed;
        Channel made = (await daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "inside", Channel = channel, Start = true })).Channel;
        Assert.Equal(allowed, made.SendCpu);
        Assert.Empty(made.Notes);
    }

    [Fact]
    public void A_configured_channel_on_a_cpu_outside_the_affinity_stops_the_start_naming_its_key()
    {
        if (HostCpuFacts.Online.Count < 2)
        {
            log.WriteLine("SKIPPED: needs 2 CPUs to start rtudpd on one of them");
            return;
        }
        int outside = HostCpuFacts.Online[1];
        string config = $$"""
            { "Listen": { "UnixSocket": "$ROOT/rtudp.sock" },
              "Channels": [ { "name": "pinned", "direction": "send", "remote": "127.0.0.1:5000", "priority": 0, "cpu": {{outside}} } ] }
            """;
        using HostedDaemon daemon = HostedDaemon.Start(config, watchdog: false, wrapper: PinnedToFirstCpu());
        Assert.NotEqual(0, daemon.WaitForExit(HostedDaemon.StartTimeout));
        log.WriteLine(daemon.Errors);
        Assert.Contains($"rtudpd: invalid configuration: Channels:0:cpu: cpu {outside}: not in the CPUs the engine may use ({HostCpuFacts.Online[0]}:", daemon.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_channel_on_a_cpu_the_host_lacks_stops_the_start_naming_its_key()
    {
        int missing = HostCpuFacts.Missing;
        string config = $$"""
            { "Listen": { "UnixSocket": "$ROOT/rtudp.sock" },
              "Channels": [ { "name": "nowhere", "direction": "send", "remote": "127.0.0.1:5000", "priority": 0, "sendCpu": {{missing}} } ] }
            """;
        using HostedDaemon daemon = HostedDaemon.Start(config, watchdog: false);
        Assert.NotEqual(0, daemon.WaitForExit(HostedDaemon.StartTimeout));
        Assert.Contains($"rtudpd: invalid configuration: Channels:0:sendCpu: cpu {missing}: this host has CPUs {HostCpuFacts.OnlineText}", daemon.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_priority_beyond_the_limits_runs_degraded_with_a_note_or_is_refused_when_real_time_is_required()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: HostCpuFacts.WithoutRealtime());
        const string expected = "priority: SCHED_FIFO priority 80 asked, SCHED_OTHER in effect: the engine may set no SCHED_FIFO priority (RLIMIT_RTPRIO 0 and no CAP_SYS_NICE)";

        // API: created and started, the note in the response and in GetChannel ...
        Channel made = (await daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "degraded", Channel = Sender(80), Start = true })).Channel;
        Assert.Equal(expected, Assert.Single(made.Notes));
        Assert.Equal(expected, Assert.Single((await daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = made.Name })).Channel.Notes));
        // ... and the note is the truth: the send worker runs, without SCHED_FIFO.
        V1.ChannelStats stats = await daemon.Unix.WaitStatsAsync(made.Name, s => s.Sender is { State: WorkerState.Running }, TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("Fifo", stats.Sender.RealtimeMode, StringComparison.Ordinal);
        Assert.Equal(1, stats.Sender.SetupErrno); // EPERM from sched_setscheduler, as the note foretold

        // rtudpctl: create and ls show it.
        string[] target = ["--socket", daemon.Fixture.SocketPath];
        CtlProcess.Result created = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "create", "ctl-degraded", "--direction", "send", "--remote", "127.0.0.1:5000", "--priority", "80", .. target]);
        log.WriteLine(created.ToString());
        Assert.Equal(0, created.Exit);
        Assert.Contains("note: " + expected, created.Stdout, StringComparison.Ordinal);
        CtlProcess.Result ls = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "ls", .. target]);
        log.WriteLine(ls.ToString());
        Assert.Contains("ctl-degraded: note: " + expected, ls.Stdout, StringComparison.Ordinal);
        Assert.Contains("degraded: note: " + expected, ls.Stdout, StringComparison.Ordinal);

        // REQUIRE_REALTIME: refused, naming the field, and nothing is created.
        Channel strict = Sender(80);
        strict.Flags.Add(ChannelFlag.RequireRealtime);
        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "strict", Channel = strict }).ResponseAsync);
        PreconditionFailure.Types.Violation violation = Assert.Single(status.GetDetail<PreconditionFailure>()!.Violations);
        Assert.Equal("channel.priority", violation.Subject);
        Assert.Equal("SCHED_FIFO priority 80: the engine may set no SCHED_FIFO priority (RLIMIT_RTPRIO 0 and no CAP_SYS_NICE), and the channel requires real time", violation.Description);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/strict" }).ResponseAsync);

        CtlProcess.Result refused = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "create", "ctl-strict", "--direction", "send", "--remote", "127.0.0.1:5000", "--priority", "80", "--require-realtime", .. target]);
        log.WriteLine(refused.ToString());
        Assert.Equal(1, refused.Exit);
        Assert.Contains("channel.priority: SCHED_FIFO priority 80", refused.Stderr + refused.Stdout, StringComparison.Ordinal);

        // SCHED_OTHER (priority 0) asks for nothing the host lacks.
        Assert.Empty((await daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "other", Channel = Sender(0) })).Channel.Notes);

        // The metric says which setting runs other than asked, for the degraded channels only.
        Metrics.Exposition metrics = await Metrics.Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(1, metrics.Value("rtudp_channel_degraded", ("channel", "degraded"), ("setting", "priority")));
        Assert.Equal(1, metrics.Value("rtudp_channel_degraded", ("channel", "ctl-degraded"), ("setting", "priority")));
        Assert.Empty(metrics.Find("rtudp_channel_degraded", ("channel", "other")));
    }

    [Fact]
    public async Task A_configured_channel_beyond_the_limits_runs_degraded_with_its_note_and_keeps_it_across_an_engine_restart()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(
            new Dictionary<string, string>
            {
                ["Channels:0:name"] = "cfg",
                ["Channels:0:direction"] = "send",
                ["Channels:0:remote"] = "127.0.0.1:5000",
                ["Channels:0:priority"] = "50",
                ["Channels:0:timing"] = "sleep",
            },
            wrapper: HostCpuFacts.WithoutRealtime());
        const string expected = "priority: SCHED_FIFO priority 50 asked, SCHED_OTHER in effect: the engine may set no SCHED_FIFO priority (RLIMIT_RTPRIO 0 and no CAP_SYS_NICE)";
        Channel channel = (await daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/cfg" })).Channel;
        Assert.Equal(ChannelState.Running, channel.State);
        Assert.Equal(expected, Assert.Single(channel.Notes));
        Assert.Contains("runs degraded: " + expected, daemon.Log, StringComparison.Ordinal);

        // The engine dies; the restored channel is checked again in the new engine and keeps its note.
        int first = daemon.Fixture.EnginePid;
        HostedDaemon.Signal(first, Tmds.Linux.LibC.SIGKILL);
        int second = await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(60), restarts: 1);
        Assert.NotEqual(first, second);
        await daemon.Fixture.WaitUntilAsync(() => daemon.Unix.Channels.GetChannel(new GetChannelRequest { Name = "channels/cfg" }).Channel.State == ChannelState.Running,
            TimeSpan.FromSeconds(30), "the configured channel running again");
        Assert.Equal(expected, Assert.Single((await daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/cfg" })).Channel.Notes));
    }

    [Fact]
    public void A_configured_channel_requiring_real_time_beyond_the_limits_stops_the_start_naming_its_key()
    {
        string config = """
            { "Listen": { "UnixSocket": "$ROOT/rtudp.sock" },
              "Engine": { "LockMemory": false },
              "Channels": [ { "name": "strict", "direction": "send", "remote": "127.0.0.1:5000", "priority": 50, "flags": "require_realtime" } ] }
            """;
        using HostedDaemon daemon = HostedDaemon.Start(config, watchdog: false, wrapper: HostCpuFacts.WithoutRealtime());
        Assert.NotEqual(0, daemon.WaitForExit(HostedDaemon.StartTimeout));
        log.WriteLine(daemon.Output);
        Assert.Contains("Channels:0:priority: SCHED_FIFO priority 50: the engine may set no SCHED_FIFO priority (RLIMIT_RTPRIO 0 and no CAP_SYS_NICE), and the channel requires real time",
            daemon.Output + daemon.Errors, StringComparison.Ordinal);
    }
}
