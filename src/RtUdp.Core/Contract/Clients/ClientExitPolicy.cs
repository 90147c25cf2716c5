namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// A channel's <c>client_exit</c>: what the packets a same-host client had published but the engine had not yet
/// taken get when the client detaches or its connection closes (docs/shm-clients.md, "Lifetime").
/// </summary>
public enum ClientExitPolicy
{
    /// <summary>The engine takes them into the channel as usual (each leaves at its time).</summary>
    Drain = 0,

    /// <summary>The engine counts them dropped (<c>tx_dropped_detach</c>, channel counter <c>ClientDroppedDetach</c>).</summary>
    Drop = 1,
}
