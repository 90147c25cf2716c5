using RtUdp.Daemon.Engine;
using Serilog;

namespace RtUdp.Daemon;

/// <summary>rtudpd: the systemd service. Supervises the real-time engine; the gRPC control plane mounts here.</summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
        builder.Configuration.AddJsonFile("/etc/rtudp/rtudp.json", optional: true, reloadOnChange: false);
        builder.Configuration.AddEnvironmentVariables("RTUDP_");
        builder.Configuration.AddCommandLine(args);

        builder.Services.AddSerilog((_, configuration) => configuration
            .MinimumLevel.Information()
            .WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}"));
        builder.Services.AddSystemd();
        builder.Services.Configure<EngineSupervisorOptions>(builder.Configuration.GetSection("Engine"));
        builder.Services.AddSingleton<EngineSupervisor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<EngineSupervisor>());

        using IHost host = builder.Build();
        await host.RunAsync();
        return 0;
    }
}
