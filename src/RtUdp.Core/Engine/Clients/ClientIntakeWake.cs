namespace RtUdp.Core.Engine.Clients;

/// <summary>How the client intake agent sleeps while it has nothing to do (docs/shm-clients.md, "Sleeping").</summary>
public enum ClientIntakeWake
{
    /// <summary>One futex_waitv over every client's TX doorbell and receiving channel (Linux 5.16 and later): woken at once.</summary>
    FutexWaitv,

    /// <summary>On its control word, looking at the rings every <see cref="ClientIntakeAgent.PollIntervalNs"/> while clients are attached.</summary>
    Polling,
}
