namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The status codes of the shared-memory client ABI (<c>RTUDP_E_*</c> in rtudp.h, docs/shm-clients.md). The values
/// are ABI: a C program and the Python package compare against them, so they never change meaning.
/// </summary>
public enum ShmStatus
{
    /// <summary>RTUDP_OK.</summary>
    Ok = 0,

    /// <summary>RTUDP_E_INVALID: a bad argument (the message names it).</summary>
    Invalid = -1,

    /// <summary>RTUDP_E_NOT_FOUND: no such channel.</summary>
    NotFound = -2,

    /// <summary>RTUDP_E_PERMISSION: not allowed (user, group).</summary>
    Permission = -3,

    /// <summary>RTUDP_E_AGAIN: the ring is full (or the engine is throttling this client): try again.</summary>
    Again = -4,

    /// <summary>RTUDP_E_TIMEOUT: nothing received within the timeout.</summary>
    Timeout = -5,

    /// <summary>RTUDP_E_TOO_LARGE: payload over the channel's max payload.</summary>
    TooLarge = -6,

    /// <summary>RTUDP_E_DETACHED: the attachment ended (detached, channel deleted, engine restart failed).</summary>
    Detached = -7,

    /// <summary>RTUDP_E_FAULTED: the engine found the ring corrupt and stopped reading it.</summary>
    Faulted = -8,

    /// <summary>RTUDP_E_VERSION: ABI or layout version mismatch.</summary>
    Version = -9,

    /// <summary>RTUDP_E_CONNECT: the daemon's socket could not be reached.</summary>
    Connect = -10,

    /// <summary>RTUDP_E_EXHAUSTED: a limit (attachments) refused.</summary>
    Exhausted = -11,

    /// <summary>RTUDP_E_PRECONDITION: the channel cannot do it (direction, already has a receiver, not running).</summary>
    Precondition = -12,

    /// <summary>RTUDP_E_SYSTEM: a system call failed (the message names it and its errno).</summary>
    System = -13,

    /// <summary>RTUDP_E_BUFFER: the receive buffer is smaller than the packet (the packet stays).</summary>
    Buffer = -14,
}
