using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Engine health: the real-time mode in effect is reported (degraded, never silently), and the
/// engine allocates nothing and collects no garbage while traffic flows.
/// SCHED_FIFO and pinning need root (or CAP_SYS_NICE); CI runs as root.
/// </summary>
public sealed class EngineHealthTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static bool IsRoot => Environment.UserName == "root";

    private ChannelConfig Pair(string name, ChannelDirection direction, IPEndPoint? remote, int cpu = -1, ChannelFlags flags = ChannelFlags.None) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = direction,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = remote,
        Capacity = 4096,
        MaxPayload = 512,
        SendCpu = cpu,
        ReceiveCpu = cpu,
        Flags = flags,
    };

    [Fact]
    public void Workers_report_the_realtime_mode_in_effect()
    {
        using ChannelHandle rx = fixture.Client.CreateChannel(Pair("mode-rx", ChannelDirection.Receive, null, cpu: 0));
        fixture.Client.StartChannel(rx.Id);
        WorkerStatus receiver = rx.ReadStats().Receiver;

        Assert.Equal(WorkerState.Running, receiver.State);
        Assert.True(receiver.ThreadId > 0);
        if (IsRoot)
        {
            Assert.True(receiver.Mode.HasFlag(RealtimeMode.Pinned), $"mode {receiver.Mode}");
            Assert.True(receiver.Mode.HasFlag(RealtimeMode.Fifo), $"mode {receiver.Mode}");
            Assert.True(receiver.Mode.HasFlag(RealtimeMode.MemoryLocked), $"mode {receiver.Mode}");
            Assert.False(receiver.Mode.HasFlag(RealtimeMode.Degraded), $"mode {receiver.Mode}, errno {receiver.SetupErrno}");
            Assert.Equal(0, receiver.Cpu);
            // The kernel agrees: the worker thread is SCHED_FIFO at priority 80.
            string stat = File.ReadAllText($"/proc/{fixture.Engine.Pid}/task/{receiver.ThreadId}/sched");
            Assert.Matches(@"policy\s+:\s+1\b", stat);
        }
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void The_engine_reports_host_and_interface_capabilities_at_start()
    {
        RtUdp.Core.Capabilities.CapabilityReport? report = fixture.Client.ReadCapabilities();
        Assert.NotNull(report);
        RtUdp.Core.Capabilities.InterfaceCapabilities lo = Assert.Single(report.Interfaces, i => i.Name == "lo");
        Assert.True(lo.Timestamping.HasSoftwareTimestamping);
        Assert.Equal(-1, lo.PhcIndex);
        Assert.Null(lo.LaunchTime);
        // The engine's stderr is read asynchronously: wait for the lines rather than race them.
        foreach (string expected in new[] { "host: kernel", "if lo (#", "launch time none (SO_TXTIME ignored)" })
        {
            Wait.Until(() => fixture.Log.Contains(expected, StringComparison.Ordinal), TimeSpan.FromSeconds(5), () => $"'{expected}' in the engine log:\n{fixture.Log}");
        }
    }

    [Fact]
    public void A_cpu_that_does_not_exist_degrades_the_worker_and_says_why()
    {
        int missingCpu = Environment.ProcessorCount + 7;
        using ChannelHandle rx = fixture.Client.CreateChannel(Pair("degraded-rx", ChannelDirection.Receive, null, cpu: missingCpu));
        fixture.Client.StartChannel(rx.Id);
        WorkerStatus receiver = rx.ReadStats().Receiver;

        Assert.Equal(WorkerState.Running, receiver.State);
        Assert.True(receiver.Mode.HasFlag(RealtimeMode.Degraded));
        Assert.False(receiver.Mode.HasFlag(RealtimeMode.Pinned));
        Assert.Equal(Errno.EINVAL, receiver.SetupErrno);
        Wait.Until(() => fixture.Log.Contains($"rt-rx-{rx.Id} runs degraded", StringComparison.Ordinal), TimeSpan.FromSeconds(5), () => "degraded mode in the engine log:\n" + fixture.Log);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void RequireRealtime_refuses_to_start_degraded()
    {
        int missingCpu = Environment.ProcessorCount + 7;
        using ChannelHandle rx = fixture.Client.CreateChannel(Pair("strict-rx", ChannelDirection.Receive, null, cpu: missingCpu, flags: ChannelFlags.RequireRealtime));
        EngineCommandException error = Assert.Throws<EngineCommandException>(() => fixture.Client.StartChannel(rx.Id));
        Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
        Assert.Contains("sched_setaffinity", error.Message, StringComparison.Ordinal);
        Assert.Equal(ChannelState.Failed, rx.State);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Engine_allocates_nothing_and_collects_nothing_in_steady_state(bool reports, bool trains)
    {
        string name = (reports ? "steady-reports" : "steady") + (trains ? "-trains" : "");
        using ChannelHandle rx = fixture.Client.CreateChannel(Pair(name + "-rx", ChannelDirection.Receive, null));
        using ChannelHandle tx = fixture.Client.CreateChannel(Pair(name + "-tx", ChannelDirection.Send, rx.BoundLocal));
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        // With reports (someone watches outcomes): a report per packet too, drained as the daemon does.
        tx.RequestReports(reports);
        var drained = new TxReport[4096];
        long reported = 0;
        byte[] payload = new byte[64];
        byte[] buffer = new byte[512];

        void Traffic(int packets)
        {
            long start = Libc.MonotonicNow() + 1_000_000;
            for (int i = 0; i < packets; i++)
            {
                // With trains: bursts of 16 due together (GSO trains), at the same mean rate.
                long due = trains ? start + (i / 16 * 1_600_000L) : start + (i * 100_000L);
                Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, due, i));
            }
            for (int i = 0; i < packets; i++)
            {
                Assert.NotNull(rx.Receive(buffer, 2_000_000_000));
                reported += tx.DrainReports(drained);
            }
        }

        Traffic(200); // warm-up: first-call JIT, first page touches
        EngineHealth before = FreshHealth();
        Traffic(2000);
        EngineHealth after = FreshHealth();

        Assert.Equal(before.TotalCollections, after.TotalCollections);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(2200, stats[ChannelCounter.Sent]);
        Assert.True(stats.TxBalanced);
        if (trains)
        {
            Assert.True(stats[ChannelCounter.GsoTrains] > 0, "bursts due together left in trains");
        }
        if (reports)
        {
            Wait.Until(() => (reported += tx.DrainReports(drained)) == 2200, TimeSpan.FromSeconds(5), () => $"{reported} of 2200 reports");
            Assert.Equal(0, stats[ChannelCounter.TxReportsLost]);
        }
        else
        {
            Assert.Equal(0, tx.DrainReports(drained));
        }
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Creating_and_deleting_channels_never_collects_garbage_in_the_engine()
    {
        EngineHealth before = FreshHealth();
        for (int i = 0; i < 150; i++)
        {
            using ChannelHandle rx = fixture.Client.CreateChannel(Pair($"churn-{i}", ChannelDirection.Receive, null));
            fixture.Client.StartChannel(rx.Id);
            fixture.Client.DeleteChannel(rx.Id);
        }
        EngineHealth after = FreshHealth();
        Assert.True(after.AllocatedBytes > before.AllocatedBytes, "channel commands allocate (on the conductor thread): the test would prove nothing");
        Assert.Equal(before.TotalCollections, after.TotalCollections);
    }

    /// <summary>Engine health published after this call began (the conductor republishes at least every 100 ms).</summary>
    private EngineHealth FreshHealth()
    {
        long beat = fixture.Client.ReadHealth().Heartbeat;
        Wait.Until(() => fixture.Client.ReadHealth().Heartbeat > beat + 1, TimeSpan.FromSeconds(5), () => "conductor heartbeat");
        return fixture.Client.ReadHealth();
    }
}

