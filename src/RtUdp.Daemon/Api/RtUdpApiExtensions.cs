using Grpc.HealthCheck;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RtUdp.Daemon.Capture;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Generators;
using RtUdp.Daemon.Hosting;
using RtUdp.Daemon.Limits;

namespace RtUdp.Daemon.Api;

/// <summary>Wiring of the gRPC API for the daemon's host.</summary>
public static class RtUdpApiExtensions
{
    /// <summary>
    /// Registers the rtudp.v1 services, their <see cref="ChannelRegistry"/>, gRPC (with the engine error
    /// interceptor), server reflection, grpc.health.v1 (<see cref="HealthServiceImpl"/>) and the
    /// <see cref="EngineHealthPublisher"/> hosted service. Needs an <see cref="Engine.EngineSupervisor"/> singleton;
    /// uses <see cref="DaemonSettings"/> (configured channels) and <see cref="IIntakeGate"/> when registered.
    /// The <see cref="ChannelRegistry"/> is the supervisor's <see cref="IChannelCatalog"/>.
    /// Generators and captures (GeneratorService, CaptureService) use <see cref="CaptureOptions"/> (the capture directory).
    /// Options: <see cref="RtUdpApiOptions"/> (e.g. <c>services.Configure&lt;RtUdpApiOptions&gt;(configuration.GetSection("Api"))</c>).
    /// </summary>
    public static IServiceCollection AddRtUdpApi(this IServiceCollection services) => services.AddRtUdpApi(null);

    public static IServiceCollection AddRtUdpApi(this IServiceCollection services, Action<RtUdpApiOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddGrpc(options => options.Interceptors.Add<EngineErrorInterceptor>());
        services.AddGrpcReflection();
        OptionsBuilder<RtUdpApiOptions> options = services.AddOptions<RtUdpApiOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        services.AddSingleton<HealthServiceImpl>();
        // The registry holds the configured channels too and is the supervisor's catalog, so channels
        // created over the API survive engine restarts.
        services.TryAddSingleton<RetiredHandles>();
        services.AddSingleton(s => new ChannelRegistry(
            s.GetRequiredService<ILogger<ChannelRegistry>>(),
            s.GetService<DaemonSettings>()?.Channels ?? [],
            s.GetRequiredService<RetiredHandles>()));
        services.AddSingleton<IChannelCatalog>(s => s.GetRequiredService<ChannelRegistry>());
        services.AddSingleton(s => new ClientQuotas(s.GetService<DaemonSettings>()?.Limits ?? new ClientLimitsOptions(), s.GetRequiredService<ILogger<ClientQuotas>>()));
        services.AddSingleton<ApiContext>();
        services.AddOptions<CaptureOptions>();
        services.AddSingleton<CaptureRegistry>();
        services.AddSingleton<GeneratorRegistry>();
        services.AddSingleton<Outcomes.OutcomeHub>();
        services.AddSingleton<Outcomes.ClientTags>();
        services.AddHostedService<EngineHealthPublisher>();
        return services;
    }

    /// <summary>Maps the rtudp.v1 services, grpc.health.v1 and server reflection.</summary>
    public static IEndpointRouteBuilder MapRtUdpApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGrpcService<ChannelApi>();
        endpoints.MapGrpcService<PacketApi>();
        endpoints.MapGrpcService<StatsApi>();
        endpoints.MapGrpcService<ClockApi>();
        endpoints.MapGrpcService<CapabilityApi>();
        endpoints.MapGrpcService<GeneratorApi>();
        endpoints.MapGrpcService<CaptureApi>();
        endpoints.MapGrpcService<EngineApi>();
        endpoints.MapGrpcService<HealthServiceImpl>();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }
}
