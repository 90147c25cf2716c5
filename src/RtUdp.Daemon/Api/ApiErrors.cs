using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Daemon.Api;

/// <summary>
/// Builds the API's errors as google.rpc.Status (grpc-status-details-bin), as in grpc-dotnet's
/// error example: INVALID_ARGUMENT with BadRequest field violations, RESOURCE_EXHAUSTED with
/// RetryInfo and ErrorInfo, and the engine's statuses mapped onto gRPC codes.
/// </summary>
public static class ApiErrors
{
    public const string Domain = "rtudp.v1";

    /// <summary>One field violation: the request field (proto path, e.g. "channel.capacity") and why.</summary>
    public readonly record struct Violation(string Field, string Description);

    public static RpcException InvalidArgument(string field, string description) => InvalidArgument([new Violation(field, description)]);

    /// <summary>
    /// A request's google.protobuf.Duration as a TimeSpan, or null (with a violation) when it is not one:
    /// seconds and nanos of different signs, nanos beyond +-999,999,999 or more than TimeSpan holds.
    /// Duration.ToTimeSpan would throw InvalidOperationException (INTERNAL) for those.
    /// </summary>
    public static TimeSpan? ToTimeSpan(Duration duration, string field, List<Violation> violations)
    {
        ArgumentNullException.ThrowIfNull(duration);
        ArgumentNullException.ThrowIfNull(violations);
        try
        {
            return duration.ToTimeSpan();
        }
        catch (InvalidOperationException)
        {
            violations.Add(new Violation(field, "not a valid duration (seconds and nanos out of range or of different signs)"));
            return null;
        }
    }

    /// <summary>Field violations reported at most: a batch of thousands of bad packets must not outgrow the client's 64 KiB header limit.</summary>
    public const int MaxViolations = 50;

    public static RpcException InvalidArgument(IReadOnlyList<Violation> violations)
    {
        int unlisted = Math.Max(0, violations.Count - MaxViolations);
        int total = violations.Count;
        if (unlisted > 0)
        {
            violations = [.. violations.Take(MaxViolations)];
        }
        var badRequest = new BadRequest();
        foreach (Violation v in violations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description });
        }
        string message = violations.Count == 1
            ? $"{violations[0].Field}: {violations[0].Description}"
            : $"{total} invalid fields: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"))
                + (unlisted > 0 ? $"; and {unlisted} more, not listed" : "");
        return Build(Code.InvalidArgument, message, Any.Pack(badRequest));
    }

    public static RpcException NotFound(string name) =>
        Build(Code.NotFound, $"{name} does not exist.", Any.Pack(new ResourceInfo { ResourceType = "rtudp.v1.Channel", ResourceName = name, Description = "no such channel" }));

    public static RpcException AlreadyExists(string name) =>
        Build(Code.AlreadyExists, $"{name} already exists.", Any.Pack(new ResourceInfo { ResourceType = "rtudp.v1.Channel", ResourceName = name, Description = "already exists" }));

    public static RpcException FailedPrecondition(string subject, string description, string type = "STATE") =>
        Build(Code.FailedPrecondition, $"{subject}: {description}", Any.Pack(new PreconditionFailure
        {
            Violations = { new PreconditionFailure.Types.Violation { Type = type, Subject = subject, Description = description } },
        }));

    public static RpcException EngineDown() =>
        Build(Code.Unavailable, "The engine is not running (it is being started or restarted); retry shortly.",
            Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)) }));

    public static RpcException ChannelLost(string name, string? reason) =>
        Build(Code.Unavailable, $"{name} is not attached to a running engine ({reason ?? "engine down"}); it is restored when the engine restarts.",
            Any.Pack(new ErrorInfo { Reason = "CHANNEL_DETACHED", Domain = Domain, Metadata = { ["channel"] = name, ["reason"] = reason ?? "" } }),
            Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)) }));

    public static RpcException Stopping() =>
        Build(Code.Unavailable, "The daemon is stopping: it takes no new packets or channel commands.",
            Any.Pack(new ErrorInfo { Reason = "STOPPING", Domain = Domain }));

    /// <summary>The ring is full: retry after <paramref name="retryDelay"/>; <paramref name="accepted"/> packets of the request went in.</summary>
    public static RpcException RingFull(string name, long accepted, TimeSpan retryDelay) =>
        Build(Code.ResourceExhausted, $"The TX ring of {name} is full; {accepted} packet(s) of the request were enqueued, the rest were not (counted: rejected_full).",
            Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryDelay) }),
            Any.Pack(new ErrorInfo
            {
                Reason = "RING_FULL",
                Domain = Domain,
                Metadata = { ["channel"] = name, ["accepted"] = accepted.ToString(CultureInfo.InvariantCulture) },
            }));

    /// <summary>An engine command failed: its status onto the gRPC code; an invalid field becomes a BadRequest violation named <paramref name="fieldPrefix"/> + field.</summary>
    public static RpcException FromEngine(EngineCommandException e, string fieldPrefix = "channel.")
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Status == EngineStatus.InvalidArgument && !string.IsNullOrEmpty(e.Field))
        {
            return InvalidArgument(ChannelFieldName(e.Field, fieldPrefix), StripField(e.Message, e.Field));
        }
        Code code = e.Status switch
        {
            EngineStatus.InvalidArgument => Code.InvalidArgument,
            EngineStatus.NotFound => Code.NotFound,
            EngineStatus.AlreadyExists => Code.AlreadyExists,
            EngineStatus.FailedPrecondition => Code.FailedPrecondition,
            EngineStatus.ResourceExhausted => Code.ResourceExhausted,
            EngineStatus.PermissionDenied => Code.PermissionDenied,
            EngineStatus.Unavailable => Code.Unavailable,
            _ => Code.Internal,
        };
        if (string.IsNullOrEmpty(e.Field))
        {
            return Build(code, e.Message);
        }
        return code == Code.FailedPrecondition
            ? FailedPrecondition(ChannelFieldName(e.Field, fieldPrefix), StripField(e.Message, e.Field), "ENGINE")
            : Build(code, $"{ChannelFieldName(e.Field, fieldPrefix)}: {StripField(e.Message, e.Field)}");
    }

    /// <summary>The engine's config field names are the proto's, except the name (the request's channel_id).</summary>
    internal static string ChannelFieldName(string engineField, string prefix = "channel.") =>
        engineField == "name" ? "channel_id" : prefix + engineField;

    private static string StripField(string message, string field) =>
        message.StartsWith(field + ": ", StringComparison.Ordinal) ? message[(field.Length + 2)..] : message;

    private static RpcException Build(Code code, string message, params Any[] details)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.Add(details);
        return status.ToRpcException();
    }
}
