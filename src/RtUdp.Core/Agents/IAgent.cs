namespace RtUdp.Core.Agents;

/// <summary>
/// A unit of real-time work that runs on a thread of its own (Aeron's agent model). The agent owns
/// its waiting: a send worker sleeps until its next packet's time, a receive worker until its socket
/// is readable, so <see cref="DoWork"/> both works and waits, and returns within
/// <see cref="AgentRunner.MaxWaitNs"/> so a stop request is seen promptly.
/// </summary>
public interface IAgent
{
    /// <summary>Thread name (at most 15 characters are shown by the kernel).</summary>
    string RoleName { get; }

    /// <summary>Runs on the agent's thread before the first <see cref="DoWork"/>: real-time setup, warm-up.</summary>
    void OnStart();

    /// <summary>One duty cycle. Must not allocate, lock, log or block beyond its own bounded wait.</summary>
    void DoWork();

    /// <summary>Asks a waiting <see cref="DoWork"/> to return early (called from another thread).</summary>
    void Wake();

    /// <summary>Runs on the agent's thread after the last <see cref="DoWork"/>.</summary>
    void OnClose();
}
