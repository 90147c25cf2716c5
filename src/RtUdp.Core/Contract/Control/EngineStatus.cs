namespace RtUdp.Core.Contract.Control;

/// <summary>Outcome of an engine command; maps one-to-one onto gRPC status codes in the daemon.</summary>
public enum EngineStatus
{
    Ok = 0,
    InvalidArgument = 1,
    NotFound = 2,
    AlreadyExists = 3,
    FailedPrecondition = 4,
    ResourceExhausted = 5,
    PermissionDenied = 6,
    Internal = 7,
    Unavailable = 8,
}

/// <summary>Record types in the command ring (the command code) and the response ring.</summary>
public enum EngineCommand
{
    CreateChannel = 1,
    StartChannel = 2,
    StopChannel = 3,
    DeleteChannel = 4,
    Ping = 5,

    /// <summary>Attach a same-host client's region (its memfd came over engine.sock): <see cref="ClientCommandBody"/>.</summary>
    AttachClient = 6,

    /// <summary>Detach a same-host client (drain or drop its ring): <see cref="ClientCommandBody"/>; counts in the response.</summary>
    DetachClient = 7,
}

/// <summary>An engine command failed; <see cref="Status"/> says how, the message says why.</summary>
public sealed class EngineCommandException(EngineStatus status, string message, string? field = null) : Exception(message)
{
    public EngineStatus Status { get; } = status;

    /// <summary>The config field at fault, for INVALID_ARGUMENT.</summary>
    public string? Field { get; } = field;
}
