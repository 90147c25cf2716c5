using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Options;
using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Api;

/// <summary>
/// Keeps grpc.health.v1 in step with the engine: NOT_SERVING while <see cref="EngineSupervisor.Client"/>
/// is null (engine starting, dead or restarting) or while it is stalled (<see cref="EngineSupervisor.Stall"/>:
/// the supervisor logs which part and why), SERVING otherwise; for the server ("") and each rtudp.v1 service.
/// </summary>
public sealed class EngineHealthPublisher(HealthServiceImpl health, EngineSupervisor supervisor, IOptions<RtUdpApiOptions> options) : BackgroundService
{
    /// <summary>The names health answers for: the whole server ("") and every rtudp.v1 service.</summary>
    public static readonly IReadOnlyList<string> ServiceNames =
    [
        "",
        V1.ChannelService.Descriptor.FullName,
        V1.PacketService.Descriptor.FullName,
        V1.StatsService.Descriptor.FullName,
        V1.ClockService.Descriptor.FullName,
        V1.CapabilityService.Descriptor.FullName,
    ];

    private HealthCheckResponse.Types.ServingStatus? _published;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Publish();
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HealthPollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Publish();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        Set(HealthCheckResponse.Types.ServingStatus.NotServing);
        return base.StopAsync(cancellationToken);
    }

    private void Publish() => Set(supervisor.Client is null || supervisor.Stall is not null ? HealthCheckResponse.Types.ServingStatus.NotServing : HealthCheckResponse.Types.ServingStatus.Serving);

    private void Set(HealthCheckResponse.Types.ServingStatus status)
    {
        if (_published == status)
        {
            return;
        }
        _published = status;
        foreach (string service in ServiceNames)
        {
            health.SetStatus(service, status);
        }
    }
}
