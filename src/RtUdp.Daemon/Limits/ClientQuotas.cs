using System.Collections.Concurrent;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Core.Native;

namespace RtUdp.Daemon.Limits;

/// <summary>
/// The per-client limits (<see cref="ClientLimitsOptions"/>): every Send and SendStream message reserves its
/// packets from its client's quota before they are enqueued. A refusal is RESOURCE_EXHAUSTED with a
/// google.rpc.QuotaFailure (subject: the client, description: the limit), a RetryInfo and an ErrorInfo
/// (reason QUOTA_EXCEEDED, metadata "accepted"); it is counted per client and per channel
/// (counters["rejected_quota"] of GetStats).
/// </summary>
public sealed partial class ClientQuotas(ClientLimitsOptions limits, ILogger<ClientQuotas> logger)
{
    private readonly ConcurrentDictionary<string, ClientQuota> _clients = new(StringComparer.Ordinal);

    public bool Enabled => limits.Enabled;

    /// <summary>Reserves the packets of one call for <paramref name="client"/>; throws RESOURCE_EXHAUSTED when a limit refuses.</summary>
    /// <param name="accepted">Packets of the call (stream) enqueued before this reservation, for the error's metadata.</param>
    public Reservation Reserve(string client, string channel, long[] due, long accepted, Action countRefusal)
    {
        ArgumentNullException.ThrowIfNull(countRefusal);
        if (!limits.Enabled || due.Length == 0)
        {
            return default;
        }
        ClientQuota quota = _clients.GetOrAdd(client, c => new ClientQuota(c, limits));
        long now = Libc.MonotonicNow();
        if (quota.TryReserve(due, now) is { } refusal)
        {
            countRefusal();
            if (quota.Refused == 1 || quota.Refused % 1000 == 0)
            {
                Log.Refused(logger, client, channel, refusal.Limit, refusal.Description, quota.Refused);
            }
            throw Exceeded(client, channel, refusal, accepted);
        }
        return new Reservation(quota, due);
    }

    /// <summary>Calls of <paramref name="client"/> refused so far.</summary>
    public long Refused(string client) => _clients.TryGetValue(client, out ClientQuota? quota) ? quota.Refused : 0;

    private static RpcException Exceeded(string client, string channel, QuotaRefusal refusal, long accepted)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)Code.ResourceExhausted,
            Message = $"Client {client} is over its quota: {refusal.Description}; {accepted} packet(s) of the call were enqueued before (counted: rejected_quota).",
        };
        status.Details.Add(Any.Pack(new QuotaFailure { Violations = { new QuotaFailure.Types.Violation { Subject = "client:" + client, Description = refusal.Description } } }));
        status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(refusal.RetryAfter) }));
        status.Details.Add(Any.Pack(new ErrorInfo
        {
            Reason = "QUOTA_EXCEEDED",
            Domain = Api.ApiErrors.Domain,
            Metadata =
            {
                ["client"] = client,
                ["limit"] = refusal.Limit,
                ["channel"] = channel,
                ["accepted"] = accepted.ToString(CultureInfo.InvariantCulture),
            },
        }));
        return status.ToRpcException();
    }

    /// <summary>A call's reserved packets: <see cref="Keep"/> those enqueued, the rest go back to the quota.</summary>
    public readonly struct Reservation(ClientQuota? quota, long[]? due)
    {
        /// <summary>The first <paramref name="enqueued"/> packets went in; the others are released.</summary>
        public void Keep(int enqueued)
        {
            if (quota is not null && due is not null && enqueued < due.Length)
            {
                quota.Release(due.AsSpan(enqueued), Libc.MonotonicNow());
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 720, Level = LogLevel.Warning, Message = "Client {Client} over its quota on {Channel} ({Limit}): {Description}; {Refused} call(s) refused so far")]
        public static partial void Refused(ILogger logger, string client, string channel, string limit, string description, long refused);
    }
}
