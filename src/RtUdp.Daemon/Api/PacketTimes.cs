using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using RtUdp.Core.Native;
using RtUdp.V1;
using ChannelConfig = RtUdp.Core.Contract.Channels.ChannelConfig;

namespace RtUdp.Daemon.Api;

/// <summary>A packet's time (monotonic, wall clock, TAI or delay) as CLOCK_MONOTONIC ns, within the scheduling horizon.</summary>
internal static class PacketTimes
{
    private const long NsPerSecond = SendTimes.NsPerSecond;

    /// <summary>Validates every packet before any is enqueued; returns their due times.</summary>
    public static long[] Validate(RepeatedField<OutgoingPacket> packets, string field, ChannelConfig config, TimeSpan horizon)
    {
        var violations = new List<ApiErrors.Violation>();
        long receivedAt = Libc.MonotonicNow();
        long horizonNs = (long)(horizon.TotalMilliseconds * 1_000_000);
        long limit = receivedAt + horizonNs;
        var times = new SendTimes();
        long[] due = new long[packets.Count];
        for (int i = 0; i < packets.Count; i++)
        {
            OutgoingPacket packet = packets[i];
            string at = $"{field}[{i}]";
            int length = packet.Payload.Length;
            if (length > ChannelConfig.MaxDatagramPayload)
            {
                violations.Add(new(at + ".payload", $"{length} bytes exceed the UDP maximum of {ChannelConfig.MaxDatagramPayload}"));
            }
            else if (length > config.MaxPayload)
            {
                violations.Add(new(at + ".payload", $"{length} bytes exceed the channel's max_payload of {config.MaxPayload}"));
            }
            if (Outcomes.PacketIds.Problem(packet.PacketId) is { } idProblem)
            {
                violations.Add(new(at + ".packet_id", idProblem));
            }
            long? time = null;
            string timeField = at;
            switch (packet.TimeCase)
            {
                case OutgoingPacket.TimeOneofCase.None:
                    time = receivedAt;
                    break;
                case OutgoingPacket.TimeOneofCase.MonotonicNs:
                    timeField = at + ".monotonic_ns";
                    time = packet.MonotonicNs;
                    break;
                case OutgoingPacket.TimeOneofCase.Realtime:
                    timeField = at + ".realtime";
                    time = ToNs(packet.Realtime, timeField, violations) is { } r ? times.RealtimeToMonotonic(r) : null;
                    break;
                case OutgoingPacket.TimeOneofCase.Tai:
                    timeField = at + ".tai";
                    time = ToNs(packet.Tai, timeField, violations) is { } t ? times.TaiToMonotonic(t) : null;
                    break;
                case OutgoingPacket.TimeOneofCase.Delay:
                    timeField = at + ".delay";
                    Duration d = packet.Delay;
                    if (d.Seconds < 0 || d.Nanos < 0 || d.Nanos >= NsPerSecond || d.Seconds > horizon.TotalSeconds + 1)
                    {
                        violations.Add(new(timeField, d.Seconds < 0 || d.Nanos < 0 ? "must not be negative" : $"beyond the scheduling horizon of {horizon.TotalSeconds:0.###} s"));
                    }
                    else
                    {
                        time = receivedAt + SendTimes.ToNs(d);
                    }
                    break;
            }
            if (time is { } value)
            {
                if (value > limit)
                {
                    violations.Add(new(timeField, $"{(value - receivedAt) / 1e9:0.###} s ahead, beyond the scheduling horizon of {horizon.TotalSeconds:0.###} s"));
                }
                due[i] = value;
            }
        }
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        return due;
    }

    private static long? ToNs(Timestamp timestamp, string field, List<ApiErrors.Violation> violations)
    {
        if (SendTimes.TryToNs(timestamp, out long ns))
        {
            return ns;
        }
        violations.Add(new(field, "not a valid time (seconds and nanos out of range)"));
        return null;
    }
}
