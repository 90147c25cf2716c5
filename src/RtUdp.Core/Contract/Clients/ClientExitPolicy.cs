namespace RtUdp.Core.Contract.Clients;

/// <summary>What becomes of the packets a client published and the engine has not yet taken, when it detaches.</summary>
public enum ClientExitPolicy
{
    /// <summary>Send them (published records only), within a bounded time; what is left then is dropped.</summary>
    Drain = 1,

    /// <summary>Count them as dropped_detach.</summary>
    Drop = 2,
}
