namespace RtUdp.Core.Contract.Clients;

/// <summary>Status codes of the same-host path (<c>RTUDP_E_*</c> in rtudp.h; the region's status word).</summary>
public enum ShmStatus
{
    Ok = 0,
    Invalid = -1,
    NotFound = -2,
    Permission = -3,
    Again = -4,
    Timeout = -5,
    TooLarge = -6,
    Detached = -7,
    Faulted = -8,
    Version = -9,
    Connect = -10,
    Exhausted = -11,
    Precondition = -12,
    System = -13,
    Buffer = -14,
}
