using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RtUdp.Daemon.Api;
using Microsoft.Extensions.Hosting;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Tests;

/// <summary>
/// The daemon's gRPC API over real sockets: a WebApplication built here the way rtudpd's host does it
/// (EngineSupervisor + AddRtUdpApi/MapRtUdpApi), listening with plaintext HTTP/2 on a unix socket in a
/// temporary directory and on 127.0.0.1 (a free port), and supervising a real engine process in a
/// private directory. Until Program.cs maps the API the tests build the host themselves; once it does,
/// they may run rtudpd instead, the tests using only <see cref="Unix"/>, <see cref="Tcp"/> and the socket path.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonFixture : IAsyncLifetime
{
    private readonly List<string> _log = [];
    private readonly string? _enginePath;
    private readonly Action<RtUdpApiOptions>? _configure;
    private WebApplication? _app;

    public DaemonFixture()
        : this(enginePath: null, configure: null)
    {
    }

    /// <summary>A daemon of its own (call <see cref="InitializeAsync"/>, dispose it).</summary>
    /// <param name="enginePath">An engine that cannot start (e.g. /nonexistent) keeps the daemon without engine.</param>
    public static DaemonFixture Create(string? enginePath = null, Action<RtUdpApiOptions>? configure = null) => new(enginePath, configure);

    private DaemonFixture(string? enginePath, Action<RtUdpApiOptions>? configure)
    {
        _enginePath = enginePath;
        _configure = configure;
        string shm = System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        EngineDirectory = Path.Combine(shm, $"rtudp-daemon-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory = Path.Combine(Path.GetTempPath(), $"rtudp-api-{Guid.NewGuid():N}");
        SocketPath = Path.Combine(Directory, "rtudp.sock");
    }

    /// <summary>Temporary directory holding the unix socket.</summary>
    public string Directory { get; }

    public string SocketPath { get; }

    public string EngineDirectory { get; }

    public Uri TcpAddress { get; private set; } = null!;

    /// <summary>A channel over the unix socket.</summary>
    public GrpcChannel Unix { get; private set; } = null!;

    /// <summary>A channel over TCP (127.0.0.1).</summary>
    public GrpcChannel Tcp { get; private set; } = null!;

    public IServiceProvider Services => _app!.Services;

    public EngineSupervisor Supervisor => Services.GetRequiredService<EngineSupervisor>();

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log.TakeLast(200));
            }
        }
    }

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        System.IO.Directory.CreateDirectory(EngineDirectory);
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Directory });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ListLoggerProvider(_log));
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenUnixSocket(SocketPath, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        // As Program.cs wires the supervisor (its catalog is the API's ChannelRegistry).
        var engineOptions = new EngineSupervisorOptions
        {
            Directory = EngineDirectory,
            LockMemory = false,
            MaxRestartDelay = TimeSpan.FromSeconds(1),
            StartTimeout = TimeSpan.FromSeconds(30),
            DrainWindow = TimeSpan.FromMilliseconds(200),
        };
        if (_enginePath is not null)
        {
            engineOptions.Path = _enginePath;
        }
        builder.Services.AddSingleton(engineOptions);
        builder.Services.AddSingleton<SystemdNotifier>(s => new SystemdNotifier(s.GetRequiredService<ILogger<SystemdNotifier>>(), null, null, null));
        builder.Services.AddSingleton<IntakeGate>();
        builder.Services.AddSingleton<IIntakeGate>(s => s.GetRequiredService<IntakeGate>());
        builder.Services.AddSingleton(s => new EngineSupervisor(
            engineOptions,
            s.GetRequiredService<IChannelCatalog>(),
            s.GetRequiredService<SystemdNotifier>(),
            s.GetRequiredService<IntakeGate>(),
            s.GetRequiredService<IHostApplicationLifetime>(),
            s.GetRequiredService<ILogger<EngineSupervisor>>()));
        builder.Services.AddHostedService(services => services.GetRequiredService<EngineSupervisor>());
        builder.Services.AddRtUdpApi(_configure);

        _app = builder.Build();
        _app.MapRtUdpApi();
        await _app.StartAsync();

        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        TcpAddress = new Uri(address);
        Unix = CreateUnixChannel(SocketPath);
        Tcp = GrpcChannel.ForAddress(TcpAddress);
        if (_enginePath is null)
        {
            await WaitForEngineAsync(TimeSpan.FromSeconds(30));
        }
    }

    public async Task WaitForEngineAsync(TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        while (Supervisor.Client is null)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The engine did not come up:\n" + Log);
            }
            await Task.Delay(20);
        }
    }

    /// <summary>A gRPC channel to a daemon's unix socket (HTTP/2 over the socket, no TLS).</summary>
    public static GrpcChannel CreateUnixChannel(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    public GrpcChannel Channel(string transport) => transport == "tcp" ? Tcp : Unix;

    public async Task DisposeAsync()
    {
        Unix?.Dispose();
        Tcp?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        foreach (string directory in new[] { Directory, EngineDirectory })
        {
            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class ListLogger(List<string> lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (lines)
            {
                lines.Add($"[{logLevel}] {category}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.Message)}");
            }
        }
    }
}

/// <summary>The tests sharing one daemon run one after another (the engine's timing is measured).</summary>
[CollectionDefinition(Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture>
{
    public const string Name = "daemon";
}
