namespace RtUdp.Core.Contract.Clients;

/// <summary>The C names of <see cref="ShmStatus"/> (constant strings: usable on paths that must not allocate).</summary>
public static class ShmStatusNames
{
    public static string Name(ShmStatus status) => status switch
    {
        ShmStatus.Ok => "RTUDP_OK",
        ShmStatus.Invalid => "RTUDP_E_INVALID",
        ShmStatus.NotFound => "RTUDP_E_NOT_FOUND",
        ShmStatus.Permission => "RTUDP_E_PERMISSION",
        ShmStatus.Again => "RTUDP_E_AGAIN",
        ShmStatus.Timeout => "RTUDP_E_TIMEOUT",
        ShmStatus.TooLarge => "RTUDP_E_TOO_LARGE",
        ShmStatus.Detached => "RTUDP_E_DETACHED",
        ShmStatus.Faulted => "RTUDP_E_FAULTED",
        ShmStatus.Version => "RTUDP_E_VERSION",
        ShmStatus.Connect => "RTUDP_E_CONNECT",
        ShmStatus.Exhausted => "RTUDP_E_EXHAUSTED",
        ShmStatus.Precondition => "RTUDP_E_PRECONDITION",
        ShmStatus.System => "RTUDP_E_SYSTEM",
        ShmStatus.Buffer => "RTUDP_E_BUFFER",
        _ => "RTUDP_E_UNKNOWN",
    };
}
