using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Daemon.Engine;
using RtUdp.V1;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.EngineService: the supervised engine's state, stall and restarts; answers while it is down too.</summary>
public sealed class EngineApi(EngineSupervisor supervisor) : EngineService.EngineServiceBase
{
    public override Task<GetEngineResponse> GetEngine(GetEngineRequest request, ServerCallContext context)
    {
        int pid = supervisor.EnginePid;
        EngineStall? stall = supervisor.Stall;
        StallBounds bounds = supervisor.StallBounds;
        var response = new GetEngineResponse
        {
            State = pid == 0 ? EngineState.Down : stall is not null ? EngineState.Stalled : EngineState.Running,
            Pid = pid,
            Restarts = supervisor.Restarts,
            StallRestarts = supervisor.StallRestarts,
            LostTxPackets = supervisor.LostTxPackets,
            LostRxPackets = supervisor.LostRxPackets,
            StallTimeout = Duration.FromTimeSpan(bounds.Health),
            StallRestartTimeout = Duration.FromTimeSpan(bounds.Restart),
            WatchdogTimeout = bounds.Watchdog is { } w ? Duration.FromTimeSpan(w) : null,
        };
        if (pid == 0)
        {
            response.Reason = "engine down (starting, restarting or stopping)";
        }
        else if (stall is not null)
        {
            response.Reason = stall.Describe();
            response.Stalled.AddRange(stall.Parts.Select(p => new V1.StalledPart
            {
                Name = p.Name,
                Channel = p.Channel.Length > 0 ? ChannelRegistry.Prefix + p.Channel : "",
                Worker = p.Worker,
                Age = Duration.FromTimeSpan(p.Age),
            }));
        }
        return Task.FromResult(response);
    }
}
