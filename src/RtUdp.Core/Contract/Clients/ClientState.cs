namespace RtUdp.Core.Contract.Clients;

/// <summary>A client region's state word (offset 128); its status code and message say why.</summary>
public enum ClientState
{
    None = 0,
    Attached = 1,

    /// <summary>The attachment ended: detached, channel deleted, or an engine restart could not re-arm the channel.</summary>
    Detached = 2,

    /// <summary>The engine found the client's ring corrupt and reads it no more.</summary>
    Faulted = 3,

    /// <summary>The engine restarted: records wait in the ring until the new engine takes it over.</summary>
    Reattaching = 4,
}
