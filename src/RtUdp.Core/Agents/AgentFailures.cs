namespace RtUdp.Core.Agents;

/// <summary>
/// What the engine's main thread asks of its long-lived agents (the conductor, the client intake). An agent whose
/// duty cycle threw has stopped for good, while the process around it still looks alive: a dead conductor is
/// seen by rtudpd only when its heartbeat goes stale, and a dead intake agent not at all (the heartbeat beats on,
/// and same-host clients' packets wait in their rings with no error). So the first failure ends the engine the
/// way a crash does, and rtudpd's crash path (count the dead engine's loss, start another, restore the channels,
/// reattach the clients) takes over.
/// </summary>
public static class AgentFailures
{
    /// <summary>The exit status of an engine that ended because an agent failed (sysexits EX_SOFTWARE).</summary>
    public const int ExitCode = 70;

    /// <summary>The first of <paramref name="runners"/> whose agent failed, named by its thread, with the exception and its stack; null while all run.</summary>
    public static string? Describe(params ReadOnlySpan<AgentRunner> runners)
    {
        foreach (AgentRunner runner in runners)
        {
            if (runner.Failure is { } failure)
            {
                return $"agent {runner.Agent.RoleName} failed: {failure}";
            }
        }
        return null;
    }
}
