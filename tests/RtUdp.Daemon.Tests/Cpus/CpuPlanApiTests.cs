using System.Globalization;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Core.Capabilities;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Ctl;
using RtUdp.Daemon.Tests.Hosting;
using RtUdp.Daemon.Tests.Metrics;
using RtUdp.V1;
using Xunit.Abstractions;

namespace RtUdp.Daemon.Tests.Cpus;

/// <summary>
/// The engine's CPU plan through rtudpd: an owned CPU refused over gRPC naming its owner, sharing, the default
/// priority of pinned and unpinned channels, the plan in GetCapabilities, rtudpctl caps and /metrics, and
/// Engine:HousekeepingCpus. Each test has a daemon of its own (one at a time); the ones that keep a CPU from
/// unpinned workers need two CPUs and say SKIPPED otherwise.
/// </summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CpuPlanApiTests(ITestOutputHelper log)
{
    private static readonly IReadOnlyList<int> Cpus = HostCpus.Of(Environment.ProcessId).Allowed;

    private static Channel Sender(int? cpu = null, params ChannelFlag[] flags)
    {
        var channel = new Channel
        {
            Direction = ChannelDirection.Send,
            Remote = new Endpoint { Address = "127.0.0.1", Port = 9 },
            Capacity = 64,
            MaxPayload = 64,
            Timing = TimingStrategy.Sleep,
            Flags = { flags },
        };
        if (cpu is { } c)
        {
            channel.SendCpu = c;
        }
        return channel;
    }

    private static async Task<Channel> CreateAsync(Clients api, string id, Channel channel) =>
        (await api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = channel, Start = true })).Channel;

    [Fact]
    public async Task An_owned_cpu_is_refused_naming_its_owner_and_shared_when_asked()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        int cpu = Cpus[0];
        Channel owner = await CreateAsync(daemon.Unix, "owner", Sender(cpu));

        Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition,
            () => daemon.Unix.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = "second", Channel = Sender(cpu), Start = true }).ResponseAsync);
        PreconditionFailure.Types.Violation violation = Assert.Single(status.GetDetail<PreconditionFailure>()!.Violations);
        Assert.Equal("channel.send_cpu", violation.Subject);
        Assert.Contains($"CPU {cpu} is owned by channel 'owner' (its send worker)", violation.Description, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/second" }).ResponseAsync);

        // rtudpctl says the same, and --share-cpu takes it.
        CtlProcess.Result refused = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "create", "ctl-second", "--direction", "send", "--remote", "127.0.0.1:9", "--send-cpu", cpu.ToString(CultureInfo.InvariantCulture), "--socket", daemon.Fixture.SocketPath]);
        log.WriteLine(refused.ToString());
        Assert.Equal(1, refused.Exit);
        Assert.Contains("is owned by channel 'owner'", refused.Stderr, StringComparison.Ordinal);
        CtlProcess.Result shared = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["channels", "create", "sharer", "--direction", "send", "--remote", "127.0.0.1:9", "--send-cpu", cpu.ToString(CultureInfo.InvariantCulture), "--share-cpu", "--socket", daemon.Fixture.SocketPath]);
        Assert.True(shared.Exit == 0, shared.ToString());

        CpuPlan plan = (await daemon.Unix.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest())).CpuPlan;
        OwnedCpu owned = Assert.Single(plan.Owned);
        Assert.Equal(cpu, owned.Cpu);
        Assert.True(owned.Shared);
        Assert.Equal(["channels/owner", "channels/sharer"], owned.Owners.Select(o => o.Channel));
        Assert.Equal([false, true], owned.Owners.Select(o => o.Shares));

        // Deleting both frees it.
        await daemon.Unix.DeleteAsync(owner);
        await daemon.Unix.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = "channels/sharer" });
        Assert.Empty((await daemon.Unix.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest())).CpuPlan.Owned);
    }

    [Fact]
    public async Task Unpinned_channels_default_to_sched_other_and_pinned_ones_to_fifo_80()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Channel unpinned = await CreateAsync(daemon.Unix, "unpinned", Sender());
        Channel pinned = await CreateAsync(daemon.Unix, "pinned", Sender(Cpus[^1]));
        Assert.Equal(0, unpinned.Priority);
        Assert.Equal(80, pinned.Priority);
        Channel asked = await CreateAsync(daemon.Unix, "asked", Sender(-1));
        Assert.Equal(0, asked.Priority);
        var explicitFifo = Sender();
        explicitFifo.Priority = 10;
        Assert.Equal(10, (await CreateAsync(daemon.Unix, "explicit", explicitFifo)).Priority);
    }

    [Fact]
    public async Task The_plan_is_reported_by_the_api_rtudpctl_caps_and_metrics()
    {
        if (Cpus.Count < 2)
        {
            log.WriteLine("SKIPPED: needs two CPUs (one owned, one for unpinned workers)");
            return;
        }
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        int owned = Cpus[^1];
        await CreateAsync(daemon.Unix, "timed", Sender(owned));
        Channel bulkChannel = Sender();
        bulkChannel.Timing = TimingStrategy.Bulk;
        Assert.True((await CreateAsync(daemon.Unix, "bulk", bulkChannel)).Mode.Bulk);

        CpuPlan plan = (await daemon.Unix.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest())).CpuPlan;
        log.WriteLine(plan.ToString());
        int[] rest = [.. Cpus.Except([owned])];
        Assert.Equal(Cpus, plan.EngineCpus);
        Assert.Equal(rest, plan.UnpinnedCpus);
        Assert.True(plan.UnpinnedRealtime);
        Assert.Empty(plan.HousekeepingCpus);
        PlannedWorker timed = Assert.Single(plan.Workers, w => w.Channel == "channels/timed");
        Assert.True(timed.Pinned);
        Assert.Equal([owned], timed.Cpus);
        Assert.Equal("timed", timed.Kind);
        PlannedWorker bulk = Assert.Single(plan.Workers, w => w.Channel == "channels/bulk");
        Assert.Equal("bulk", bulk.Kind);
        Assert.False(bulk.Pinned);
        Assert.Equal(rest, bulk.Cpus);
        Assert.Equal("SCHED_OTHER", bulk.Scheduling);
        Assert.Contains("Confined", bulk.RealtimeMode, StringComparison.Ordinal);
        // The engine's word, checked against the kernel's.
        Assert.Equal(rest, HostCpus.Affinity(bulk.ThreadId));

        CtlProcess.Result caps = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["caps", "--socket", daemon.Fixture.SocketPath]);
        log.WriteLine(caps.ToString());
        Assert.True(caps.Exit == 0, caps.ToString());
        Assert.Matches($@"(?m)^\s*{owned}\s+owned by channels/timed \(send\)", caps.Stdout);
        Assert.Matches($@"(?m)^channels/bulk send\s+bulk\s+{bulk.ThreadId}\s+{string.Join(',', rest)}\s+SCHED_OTHER", caps.Stdout);

        Exposition metrics = await Exposition.ScrapeAsync(daemon.Fixture.HttpAddress);
        Assert.Equal(1, metrics.Value("rtudp_cpu_owner", ("cpu", owned.ToString(CultureInfo.InvariantCulture)), ("channel", "channels/timed"), ("worker", "send")));
        foreach (int cpu in rest)
        {
            Assert.Equal(1, metrics.Value("rtudp_cpu_plan_info", ("cpu", cpu.ToString(CultureInfo.InvariantCulture)), ("role", "unpinned")));
        }
        Assert.Equal(1, metrics.Value("rtudp_worker_realtime_mode", ("channel", "bulk"), ("worker", "send"), ("mode", "confined")));
    }

    [Fact]
    public async Task Housekeeping_cpus_hold_rtudpd_and_the_conductor_and_unpinned_workers_keep_off_them()
    {
        if (Cpus.Count < 2)
        {
            log.WriteLine("SKIPPED: needs two CPUs (one for housekeeping, one for the workers)");
            return;
        }
        int housekeeping = Cpus[0];
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(new Dictionary<string, string> { ["Engine:HousekeepingCpus"] = housekeeping.ToString(CultureInfo.InvariantCulture) });
        await CreateAsync(daemon.Unix, "bulk", Sender());
        CpuPlan plan = (await daemon.Unix.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest())).CpuPlan;
        log.WriteLine(plan.ToString());
        Assert.Equal([housekeeping], plan.HousekeepingCpus);
        Assert.Equal([housekeeping], plan.DaemonCpus);
        Assert.Equal([housekeeping], plan.ConductorCpus);
        // The engine still plans over every CPU rtudpd had, not only the one it was started from.
        Assert.Equal(Cpus, plan.EngineCpus);
        int[] rest = [.. Cpus.Except([housekeeping])];
        Assert.Equal(rest, plan.UnpinnedCpus);
        Assert.Equal(rest, Assert.Single(plan.Workers).Cpus);

        // Every thread of rtudpd, not only its main thread.
        foreach (string task in Directory.GetDirectories($"/proc/{daemon.Fixture.Process.Pid}/task"))
        {
            Assert.Equal([housekeeping], HostCpus.Affinity(int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)));
        }
    }

    [Fact]
    public async Task A_housekeeping_cpu_list_that_does_not_parse_stops_the_start_naming_the_key()
    {
        string config = Path.Combine(Path.GetTempPath(), $"rtudp-hk-{Environment.ProcessId}.json");
        await File.WriteAllTextAsync(config, """{ "Engine": { "HousekeepingCpus": "zero" } }""");
        try
        {
            CtlProcess.Result result = await CtlProcess.RunAsync(RtUdp.Testing.DaemonBinary.Locate().FileName, [.. RtUdp.Testing.DaemonBinary.Locate().Prefix, "--config", config]);
            log.WriteLine(result.ToString());
            Assert.Equal(2, result.Exit);
            Assert.Contains("Engine:HousekeepingCpus: 'zero' is not a CPU list", result.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }
}
