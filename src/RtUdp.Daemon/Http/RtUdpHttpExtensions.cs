using Prometheus;
using RtUdp.Daemon.Metrics;

namespace RtUdp.Daemon.Http;

/// <summary>Wiring of the operator listener: Prometheus metrics and the read-only JSON API.</summary>
public static class RtUdpHttpExtensions
{
    /// <summary>
    /// Registers <see cref="RtUdpMetrics"/> and, when <see cref="HttpOptions.JsonApi"/> is on, gRPC JSON
    /// transcoding: the rtudp.v1 methods annotated with google.api.http (only read-only ones are) become
    /// GET routes. Nothing when the listener is disabled. Call after AddRtUdpApi.
    /// </summary>
    public static IServiceCollection AddRtUdpHttp(this IServiceCollection services, HttpOptions http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.EndPoint is null)
        {
            return services;
        }
        services.AddSingleton(sp => new RtUdpMetrics(sp.GetRequiredService<Engine.EngineSupervisor>(), sp.GetRequiredService<Api.ChannelRegistry>(),
            sp.GetRequiredService<Generators.GeneratorRegistry>(), sp.GetRequiredService<Capture.CaptureRegistry>()));
        if (http.JsonApi)
        {
            services.AddGrpc().AddJsonTranscoding(o =>
            {
                // Errors carry google.rpc details (BadRequest, ResourceInfo, ...) in the JSON status body.
                o.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor);
                // Proto3's JSON mapping: 64-bit integers as strings, which JavaScript's numbers cannot hold exactly.
                o.JsonSettings.WriteInt64sAsStrings = true;
            });
        }
        return services;
    }

    /// <summary>Routing, then the listener gate (<see cref="OperatorListener.Gate"/>); call before mapping any endpoint.</summary>
    public static WebApplication UseRtUdpHttp(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseRouting();
        app.Use(OperatorListener.Gate);
        return app;
    }

    /// <summary>Maps /metrics (text exposition format) when the listener is on.</summary>
    public static IEndpointRouteBuilder MapRtUdpHttp(this IEndpointRouteBuilder endpoints, HttpOptions http)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(http);
        if (http.EndPoint is not null)
        {
            CollectorRegistry registry = endpoints.ServiceProvider.GetRequiredService<RtUdpMetrics>().Registry;
            endpoints.MapMetrics("/metrics", registry).WithMetadata(new OperatorListener.EndpointMarker());
        }
        return endpoints;
    }
}
