using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Generators;

/// <summary>A generator across an engine crash: a daemon of its own whose engine is killed mid-schedule.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GeneratorRestartTests
{
    [Fact]
    public async Task A_generator_waits_for_the_restored_channel_and_finishes_its_count()
    {
        DaemonFixture daemon = DaemonFixture.Create();
        try
        {
            await daemon.InitializeAsync();
            var api = new Clients(daemon.Unix);
            var generators = new GeneratorService.GeneratorServiceClient(daemon.Unix);
            Channel rx = await api.CreateReceiverAsync("restart-rx");
            Channel tx = await api.CreateSenderAsync("restart-tx", rx.BoundLocal);
            const int Count = 1500;
            Generator g = (await generators.StartGeneratorAsync(new StartGeneratorRequest
            {
                Parent = tx.Name,
                Spec = new GeneratorSpec
                {
                    Periodic = new V1.PeriodicSchedule { Period = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(2)) },
                    Payload = new PayloadSpec { Size = 16, IndexPrefix = true },
                    Count = Count,
                },
            })).Generator;
            await daemon.WaitUntilAsync(() => generators.GetGenerator(new GetGeneratorRequest { Name = g.Name }).Generator.Counters.Enqueued > 100, TimeSpan.FromSeconds(10), "100 packets enqueued");

            int pid = daemon.EnginePid;
            using (var engine = Process.GetProcessById(pid))
            {
                engine.Kill();
            }
            await daemon.WaitForEngineAsync(TimeSpan.FromSeconds(15), restarts: 1);
            Generator done = g;
            await daemon.WaitUntilAsync(
                () => (done = generators.GetGenerator(new GetGeneratorRequest { Name = g.Name }).Generator).State != GeneratorState.Running,
                TimeSpan.FromSeconds(20), "the generator to finish");

            // It waited for the channel, then went on: every packet produced was enqueued (into one engine or the other).
            Assert.Equal(GeneratorState.Completed, done.State);
            Assert.True(done.Counters.EngineWaits > 0, done.ToString());
            Assert.Equal(Count, done.Counters.Generated);
            Assert.Equal(Count, done.Counters.Enqueued);
            Assert.Equal(0, done.Counters.RejectedNotAccepting);
            // The restored channel (a new engine, counters from 0) sent the rest.
            V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Tx.Pending == 0 && s.Tx.Sent > 0, TimeSpan.FromSeconds(10));
            Assert.InRange(stats.Tx.Enqueued, 1, Count - 100);
            Assert.Equal(0, Reliability.DaemonAccounting.TxUncounted(stats.Tx));
        }
        finally
        {
            await daemon.DisposeAsync();
        }
    }

    [Fact]
    public async Task SIGTERM_stops_running_generators_with_the_intake()
    {
        DaemonFixture daemon = DaemonFixture.Create();
        string name;
        try
        {
            await daemon.InitializeAsync();
            var api = new Clients(daemon.Unix);
            var generators = new GeneratorService.GeneratorServiceClient(daemon.Unix);
            Channel rx = await api.CreateReceiverAsync("term-rx");
            Channel tx = await api.CreateSenderAsync("term-tx", rx.BoundLocal);
            name = (await generators.StartGeneratorAsync(new StartGeneratorRequest
            {
                Parent = tx.Name,
                GeneratorId = "endless",
                Spec = new GeneratorSpec { Periodic = new V1.PeriodicSchedule { Period = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1)) } },
            })).Generator.Name;
            await daemon.WaitUntilAsync(() => generators.GetGenerator(new GetGeneratorRequest { Name = name }).Generator.Counters.Enqueued > 10, TimeSpan.FromSeconds(10), "packets enqueued");
        }
        finally
        {
            await daemon.DisposeAsync(); // SIGTERM: intake closes, the engine drains, rtudpd exits
        }
        Assert.True(daemon.Log.Contains($"Generator {name} stopped", StringComparison.Ordinal), daemon.Log);
        Assert.Contains("the daemon is stopping", daemon.Log, StringComparison.Ordinal);
    }
}
