using RtUdp.Core.Agents;

namespace RtUdp.Core.Tests.Agents;

/// <summary>The engine's main thread sees an agent whose duty cycle threw, by name and cause, while the others run on.</summary>
public sealed class AgentFailuresTests
{
    private sealed class CountingAgent(string name, int failAt) : IAgent
    {
        private int _cycles;

        public string RoleName => name;

        public int Cycles => Volatile.Read(ref _cycles);

        public void OnStart()
        {
        }

        public void DoWork()
        {
            if (Interlocked.Increment(ref _cycles) == failAt)
            {
                throw new InvalidOperationException($"cycle {failAt} went wrong");
            }
            Thread.Sleep(1); // the bounded wait of a duty cycle
        }

        public void Wake()
        {
        }

        public void OnClose()
        {
        }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        Assert.True(SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(10)), $"timed out waiting for {what}");
    }

    [Fact]
    public void The_first_failed_agent_is_named_with_its_exception_and_the_running_ones_are_not()
    {
        var healthy = new CountingAgent("rt-healthy", failAt: -1);
        var failing = new CountingAgent("rt-failing", failAt: 3);
        using var healthyRunner = new AgentRunner(healthy);
        using var failingRunner = new AgentRunner(failing);
        Assert.Null(AgentFailures.Describe(healthyRunner, failingRunner)); // not started: nothing failed

        healthyRunner.Start();
        failingRunner.Start();
        WaitFor(() => failingRunner.Failure is not null, "the failing agent's exception");
        int cyclesAtFailure = failing.Cycles;
        WaitFor(() => healthy.Cycles > 5, "the healthy agent to keep cycling");

        string? described = AgentFailures.Describe(healthyRunner, failingRunner);
        Assert.NotNull(described);
        Assert.StartsWith("agent rt-failing failed: System.InvalidOperationException: cycle 3 went wrong", described);
        Assert.Contains(nameof(CountingAgent.DoWork), described); // the stack, to find the bug from the log
        Assert.Null(AgentFailures.Describe(healthyRunner));
        Assert.False(failingRunner.IsRunning);
        Assert.True(healthyRunner.IsRunning);
        Assert.Equal(3, cyclesAtFailure); // a failed agent runs no further cycle
        Assert.Equal(3, failing.Cycles);
    }
}
