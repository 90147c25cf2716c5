using Google.Rpc;
using Grpc.Core;

namespace RtUdp.Client;

/// <summary>
/// rtudpd refused a call: its gRPC status, message and the google.rpc details it attached
/// (BadRequest field violations for INVALID_ARGUMENT, RetryInfo and ErrorInfo for RESOURCE_EXHAUSTED and UNAVAILABLE).
/// </summary>
public class RtUdpException : Exception
{
    public RtUdpException()
    {
    }

    public RtUdpException(string message)
        : base(message)
    {
    }

    public RtUdpException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RtUdpException(RpcException rpc)
        : base(Describe(rpc), rpc)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        StatusCode = rpc.StatusCode;
        Detail = rpc.Status.Detail;
        Google.Rpc.Status? status = rpc.GetRpcStatus();
        if (status is not null)
        {
            if (status.GetDetail<BadRequest>() is { } badRequest)
            {
                FieldViolations = badRequest.FieldViolations.Select(v => new FieldViolation(v.Field, v.Description)).ToArray();
            }
            if (status.GetDetail<RetryInfo>() is { RetryDelay: { } delay })
            {
                RetryDelay = delay.ToTimeSpan();
            }
            if (status.GetDetail<ErrorInfo>() is { } info)
            {
                Reason = info.Reason;
                Metadata = new Dictionary<string, string>(info.Metadata);
            }
            if (status.GetDetail<PreconditionFailure>() is { } precondition)
            {
                Preconditions = precondition.Violations.Select(v => $"{v.Subject}: {v.Description}").ToArray();
            }
        }
    }

    /// <summary>One invalid request field (proto path, e.g. "channel.capacity") and why.</summary>
    public readonly record struct FieldViolation(string Field, string Description);

    public StatusCode StatusCode { get; } = StatusCode.Unknown;

    /// <summary>The status message the daemon gave.</summary>
    public string Detail { get; } = "";

    public IReadOnlyList<FieldViolation> FieldViolations { get; } = [];

    /// <summary>From google.rpc.RetryInfo: when a retry may succeed (ring full, engine restarting).</summary>
    public TimeSpan? RetryDelay { get; }

    /// <summary>From google.rpc.ErrorInfo ("RING_FULL", "CHANNEL_DETACHED", "STOPPING"); empty when none.</summary>
    public string Reason { get; } = "";

    public IReadOnlyDictionary<string, string> Metadata { get; } = new Dictionary<string, string>();

    /// <summary>From google.rpc.PreconditionFailure: "subject: description".</summary>
    public IReadOnlyList<string> Preconditions { get; } = [];

    private static string Describe(RpcException rpc)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        return $"{rpc.StatusCode}: {rpc.Status.Detail}";
    }
}

/// <summary>
/// rtudpd could not be reached at all (no socket file, connection refused, TLS handshake failed):
/// nothing was done. <see cref="Address"/> says where it was looked for.
/// </summary>
public sealed class DaemonUnreachableException : RtUdpException
{
    public DaemonUnreachableException(DaemonAddress address, string reason, Exception? inner = null)
        : base($"cannot reach rtudpd at {address}: {reason}", inner ?? new InvalidOperationException(reason))
    {
        Address = address;
        ReasonText = reason;
    }

    public DaemonAddress Address { get; }

    /// <summary>What failed ("no such socket", "connection refused", ...).</summary>
    public string ReasonText { get; }
}
