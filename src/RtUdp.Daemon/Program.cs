using RtUdp.Daemon.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;
using RtUdp.Daemon.Http;
using Serilog;

namespace RtUdp.Daemon;

/// <summary>rtudpd: the systemd service. Supervises the real-time engine and serves the gRPC control plane.</summary>
internal static class Program
{
    public const string DefaultConfigPath = "/etc/rtudp/rtudp.json";

    private static async Task<int> Main(string[] args)
    {
        // Configuration: embedded defaults (the options classes), then the file, RTUDP_* variables, the command line.
        (string configPath, bool explicitConfig, string[] rest) = TakeConfigArgument(args);
        if (explicitConfig && !File.Exists(configPath))
        {
            await Console.Error.WriteLineAsync($"rtudpd: invalid configuration: --config: '{configPath}' does not exist");
            return 2;
        }
        // Intake is many short calls beside a few long ones (streams, blocking receives): threads up front, so a
        // busy client never leaves another's call queued while the pool grows (one thread per 0.5 s when starved).
        ThreadPool.GetMinThreads(out int workerThreads, out int ioThreads);
        ThreadPool.SetMinThreads(Math.Max(workerThreads, 16), ioThreads);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = rest, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        try
        {
            builder.Configuration.AddJsonFile(configPath, optional: !explicitConfig, reloadOnChange: false);
            builder.Configuration.AddEnvironmentVariables("RTUDP_");
            builder.Configuration.AddCommandLine(rest);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            await Console.Error.WriteLineAsync($"rtudpd: invalid configuration: {configPath}: {e.Message}{(e.InnerException is { } inner ? $" ({inner.Message})" : "")}");
            return 2;
        }

        (DaemonSettings settings, IReadOnlyList<string> problems) = DaemonSettings.Load(builder.Configuration);
        if (problems.Count > 0)
        {
            foreach (string problem in problems)
            {
                await Console.Error.WriteLineAsync($"rtudpd: invalid configuration: {problem}");
            }
            return 2;
        }
        // Before anything else starts: this may re-execute rtudpd (same pid) without the engine's capabilities.
        PrivilegeSeparation separation;
        try
        {
            separation = PrivilegeSeparation.Establish(settings.Engine);
        }
        catch (Exception e) when (e is RtUdp.Core.Native.NativeCallException or IOException or InvalidDataException or InvalidOperationException or TimeoutException or FileNotFoundException)
        {
            await Console.Error.WriteLineAsync($"rtudpd: cannot separate the engine's privileges: {e.Message}");
            return 2;
        }

        // After the launcher is forked (it keeps every CPU for the engines it starts), before Kestrel's threads exist.
        if (settings.Engine.HousekeepingCpuList.Count > 0)
        {
            try
            {
                settings.Engine.EngineCpus = RtUdp.Core.Capabilities.HostCpus.Of(Environment.ProcessId).Allowed;
                int[] mine = [.. settings.Engine.HousekeepingCpuList.Intersect(settings.Engine.EngineCpus)];
                if (mine.Length == 0)
                {
                    await Console.Error.WriteLineAsync($"rtudpd: invalid configuration: Engine:HousekeepingCpus: {settings.Engine.HousekeepingCpus} has none of the CPUs rtudpd may use ({RtUdp.Core.Capabilities.HostCpus.Format(settings.Engine.EngineCpus)})");
                    return 2;
                }
                RtUdp.Core.Engine.Cpus.ProcessAffinity.ConfineAllThreads(mine);
            }
            catch (RtUdp.Core.Native.NativeCallException e)
            {
                await Console.Error.WriteLineAsync($"rtudpd: cannot move to the housekeeping CPUs: {e.Message}");
                return 2;
            }
        }

        if (settings.Listen.EffectiveUnixSocket is { } socketPath)
        {
            try
            {
                Listeners.PrepareUnixSocket(socketPath);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"rtudpd: cannot listen: {e.Message}");
                return 2;
            }
        }

        builder.Logging.ClearProviders();
        builder.Services.AddSerilog((_, configuration) => LogFormatting.Configure(configuration, settings.Log));
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? operatorListener = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            Listeners.Configure(kestrel, settings.Listen);
            operatorListener = OperatorListener.Configure(kestrel, settings.Http);
        });
        // Kestrel's default accept backlog is 512: a burst of more clients connecting at once over the unix socket
        // got EAGAIN ("Resource temporarily unavailable"), which a unix socket does not retry as TCP does. The
        // kernel caps it at net.core.somaxconn (4096 by default).
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(o => o.Backlog = 4096);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Engine.DrainWindow + settings.Engine.StopTimeout + TimeSpan.FromSeconds(5));

        // Not AddSystemd(): its lifetime sends READY=1 when the host starts, before the engine is up.
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(settings.Listen);
        builder.Services.AddSingleton(settings.Engine);
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(settings.Capture));
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.Systemd.ISystemdNotifier, Microsoft.Extensions.Hosting.Systemd.SystemdNotifier>();
        builder.Services.AddSingleton<SystemdNotifier>();
        builder.Services.AddSingleton<ListenersBound>();
        builder.Services.AddSingleton<IntakeGate>();
        builder.Services.AddSingleton<IIntakeGate>(s => s.GetRequiredService<IntakeGate>());
        builder.Services.AddSingleton<RetiredHandles>();
        builder.Services.AddSingleton(s => new EngineSupervisor(
            settings.Engine,
            separation,
            s.GetRequiredService<IChannelCatalog>(),
            s.GetRequiredService<SystemdNotifier>(),
            s.GetRequiredService<IntakeGate>(),
            s.GetRequiredService<IHostApplicationLifetime>(),
            s.GetRequiredService<ListenersBound>(),
            s.GetRequiredService<RetiredHandles>(),
            s.GetRequiredService<ILogger<EngineSupervisor>>()));
        builder.Services.AddHostedService(s => s.GetRequiredService<EngineSupervisor>());
        builder.Services.AddHostedService<IntakePlacement>();
        builder.Services.AddHostedService<SystemdService>();
        builder.Services.AddRtUdpApi();
        builder.Services.Configure<RtUdp.Daemon.Api.RtUdpApiOptions>(builder.Configuration.GetSection("Api"));
        builder.Services.AddRtUdpHttp(settings.Http);
        // After the supervisor: hosted services stop in reverse order, so the broker detaches its clients (their
        // rings accounted by client_exit) while the engine still runs.
        builder.Services.AddSingleton<RtUdp.Daemon.Shm.ShmBroker>();
        builder.Services.AddHostedService(s => s.GetRequiredService<RtUdp.Daemon.Shm.ShmBroker>());

        builder.Services.AddSingleton<StartupExercise>();

        await using WebApplication app = builder.Build();
        if (settings.Engine.WarmUp)
        {
            app.Services.GetRequiredService<EngineSupervisor>().BeforeReady = app.Services.GetRequiredService<StartupExercise>().RunAsync;
        }
        app.UseRtUdpHttp();
        app.MapRtUdpApi();
        app.MapRtUdpHttp(settings.Http);

        Microsoft.Extensions.Logging.ILogger logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RtUdp.Daemon.Hosting.Listeners");
        try
        {
            await app.StartAsync();
        }
        catch (OperationCanceledException)
        {
            // A stop (SIGTERM, or a configured channel the engine refused) while Kestrel was still binding.
            await app.StopAsync();
            return app.Services.GetRequiredService<EngineSupervisor>().FatalError is not null ? 1 : 0;
        }
        catch (IOException e)
        {
            await Console.Error.WriteLineAsync($"rtudpd: cannot listen: {e.Message}");
            return 2;
        }
        try
        {
            Listeners.ApplySocketMode(settings.Listen, logger);
        }
        catch (Exception e) when (e is RtUdp.Core.Native.NativeCallException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"rtudpd: cannot listen: Listen:UnixSocket: {e.Message}");
            await app.StopAsync();
            return 2;
        }
        IEnumerable<string> addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        string? operatorAddress = operatorListener?.IPEndPoint is { } http ? $"http://{http}" : null;
        Listeners.LogTcp(settings.Listen, addresses.Where(a => a != operatorAddress), logger);
        OperatorListener.LogListening(operatorListener, settings.Http, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RtUdp.Daemon.Http.OperatorListener"));
        app.Services.GetRequiredService<ListenersBound>().Complete();
        await app.WaitForShutdownAsync();
        EngineSupervisor supervisor = app.Services.GetRequiredService<EngineSupervisor>();
        return supervisor.FatalError is not null ? 1 : Environment.ExitCode;
    }

    /// <summary>--config PATH or --config=PATH, removed from the arguments the command-line provider sees.</summary>
    private static (string Path, bool Explicit, string[] Remaining) TakeConfigArgument(string[] args)
    {
        var rest = new List<string>();
        string? path = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                path = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                path = args[i]["--config=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }
        return (Path.GetFullPath(path ?? DefaultConfigPath), path is not null, rest.ToArray());
    }
}
