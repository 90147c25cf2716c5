using Xunit.Abstractions;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A SCHED_FIFO hybrid worker whose margin covers the whole packet interval would spin all the
/// time, and RT throttling would then take its CPU for 50 ms of each second. The spin budget caps
/// spinning at half of each second. Needs root for SCHED_FIFO (CI runs as root); otherwise there
/// is no budget to test and the test says so.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SpinBudgetTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    [Fact]
    public void A_fifo_worker_never_spins_more_than_half_of_each_second()
    {
        if (Environment.UserName != "root")
        {
            output.WriteLine("SKIPPED: SCHED_FIFO needs root");
            return;
        }
        using ChannelHandle rx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "budget-rx"));
        ChannelConfig config = TestChannels.Sender(fixture.NextId(), "budget-tx", rx.BoundLocal) with
        {
            Priority = 50,
            Timing = TimingStrategy.Hybrid,
            SpinMarginNs = 5_000_000, // larger than the 1 ms interval: it would spin non-stop
            Capacity = 4096,
        };
        using ChannelHandle tx = fixture.Client.CreateChannel(config);
        fixture.Client.StartChannel(rx.Id);
        fixture.Client.StartChannel(tx.Id);
        int tid = tx.ReadStats().Sender.ThreadId;

        const int packets = 2500; // 2.5 s at 1 kHz
        long start = Libc.MonotonicNow() + 20_000_000;
        byte[] payload = new byte[32];
        for (int i = 0; i < packets; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 1_000_000L), i, signal: false));
        }
        tx.Flush();

        long cpuBefore = ThreadCpuNs(tid);
        long wallBefore = Libc.MonotonicNow();
        Accounting.WaitFinished(tx, packets, TimeSpan.FromSeconds(10));
        long wall = Libc.MonotonicNow() - wallBefore;
        long cpu = ThreadCpuNs(tid) - cpuBefore;

        ChannelStats stats = tx.ReadStats();
        output.WriteLine($"worker CPU {cpu / 1e6:0} ms of {wall / 1e6:0} ms wall; budget exhausted {stats[ChannelCounter.SpinBudgetExhausted]} times; p50 {stats.SendError.ValueAtPercentile(50) / 1e3:0.0} us");
        Assert.True(stats[ChannelCounter.SpinBudgetExhausted] >= 2, Accounting.Describe(stats));
        Assert.True(cpu < wall * 0.8, $"worker used {cpu / 1e6:0} ms of CPU in {wall / 1e6:0} ms");
        Assert.Equal(packets, stats[ChannelCounter.Sent]);
        Accounting.AssertBalanced(tx, rx);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    /// <summary>Time the thread has run on a CPU, from the kernel's schedstat (ns).</summary>
    private long ThreadCpuNs(int tid) =>
        long.Parse(File.ReadAllText($"/proc/{fixture.Engine.Pid}/task/{tid}/schedstat").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
