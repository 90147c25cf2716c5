using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using RtUdp.V1;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.ClockService: the host's clocks (the engine schedules in this host's CLOCK_MONOTONIC).</summary>
public sealed class ClockApi : ClockService.ClockServiceBase
{
    private const long NsPerSecond = 1_000_000_000;

    public override Task<GetClockResponse> GetClock(GetClockRequest request, ServerCallContext context)
    {
        ClockOffset realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, 4);
        long monotonic = realtime.SampledAtMonotonicNs;
        long realtimeNs = realtime.FromMonotonic(monotonic);
        var response = new GetClockResponse
        {
            MonotonicNs = monotonic,
            Realtime = ToTimestamp(realtimeNs),
            RealtimeMinusMonotonicNs = realtime.OffsetNs,
            ReadUncertaintyNs = realtime.UncertaintyNs,
        };
        try
        {
            ClockDiscipline discipline = TaiOffset.Query();
            response.TaiOffsetSeconds = discipline.TaiOffsetSeconds;
            response.ClockState = discipline.ClockState;
            response.Synchronized = discipline.Synchronized;
        }
        catch (NativeCallException e)
        {
            response.ClockState = "adjtimex failed: " + e.Message;
        }
        response.Tai = ToTimestamp(realtimeNs + (response.TaiOffsetSeconds * NsPerSecond));
        return Task.FromResult(response);
    }

    internal static Timestamp ToTimestamp(long ns) => new()
    {
        Seconds = Math.DivRem(ns, NsPerSecond, out long nanos) - (nanos < 0 ? 1 : 0),
        Nanos = (int)(nanos < 0 ? nanos + NsPerSecond : nanos),
    };
}
