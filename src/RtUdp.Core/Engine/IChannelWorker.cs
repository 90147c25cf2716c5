using RtUdp.Core.Agents;

namespace RtUdp.Core.Engine;

/// <summary>A channel's send or receive worker, whichever data path it runs: an agent the channel starts, stops and disposes.</summary>
public interface IChannelWorker : IAgent, IDisposable
{
    /// <summary>A problem met during real-time set-up (the worker runs degraded), for the engine to log once.</summary>
    string? SetupProblem { get; }
}
