using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using RtUdp.V1;

namespace RtUdp.Client;

/// <summary>
/// A connection to rtudpd (unix socket, or TCP with optional TLS) and typed calls over its rtudp.v1 API.
/// Every call that the daemon refuses throws <see cref="RtUdpException"/> (with the gRPC status and the
/// BadRequest field violations), or <see cref="DaemonUnreachableException"/> when nothing answered.
/// The generated stubs stay available (<see cref="Channels"/>, <see cref="Packets"/>, ...) for everything else.
/// </summary>
public sealed partial class RtUdpClient : IDisposable
{
    private readonly GrpcChannel _channel;

    private RtUdpClient(DaemonAddress address, GrpcChannel channel)
    {
        Address = address;
        _channel = channel;
        Channels = new ChannelService.ChannelServiceClient(channel);
        Packets = new PacketService.PacketServiceClient(channel);
        Stats = new StatsService.StatsServiceClient(channel);
        Clock = new ClockService.ClockServiceClient(channel);
        Capabilities = new CapabilityService.CapabilityServiceClient(channel);
        Health = new Health.HealthClient(channel);
        Generators = new GeneratorService.GeneratorServiceClient(channel);
        Captures = new CaptureService.CaptureServiceClient(channel);
        Engine = new EngineService.EngineServiceClient(channel);
    }

    public DaemonAddress Address { get; }

    /// <summary>Deadline of each unary call (a receive adds its own wait).</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public ChannelService.ChannelServiceClient Channels { get; }

    public PacketService.PacketServiceClient Packets { get; }

    public StatsService.StatsServiceClient Stats { get; }

    public ClockService.ClockServiceClient Clock { get; }

    public CapabilityService.CapabilityServiceClient Capabilities { get; }

    public GeneratorService.GeneratorServiceClient Generators { get; }

    public CaptureService.CaptureServiceClient Captures { get; }

    public Health.HealthClient Health { get; }

    public EngineService.EngineServiceClient Engine { get; }

    /// <summary>The daemon's default unix socket (<see cref="DaemonAddress.Default"/>).</summary>
    public static RtUdpClient Connect() => Connect(DaemonAddress.Default());

    public static RtUdpClient ConnectUnixSocket(string path) => Connect(DaemonAddress.UnixSocket(path));

    /// <summary>http://host:port (plaintext HTTP/2) or https://host:port with <paramref name="tls"/>.</summary>
    public static RtUdpClient ConnectTcp(Uri url, ClientTlsOptions? tls = null) => Connect(DaemonAddress.Tcp(url), tls);

    /// <summary>Creates the connection; nothing is sent until the first call (which fails with <see cref="DaemonUnreachableException"/> if nobody listens).</summary>
    public static RtUdpClient Connect(DaemonAddress address, ClientTlsOptions? tls = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        Uri target;
        if (address.SocketPath is { } path)
        {
            handler.ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
            target = new Uri("http://localhost");
        }
        else
        {
            target = address.Url!;
            if (address.IsTls && tls is not null)
            {
                handler.SslOptions = tls.Build();
            }
            else if (tls is not null && (tls.CertificatePath.Length > 0 || tls.CertificateAuthorityPath.Length > 0))
            {
                handler.Dispose();
                throw new ArgumentException($"TLS files were given but {address} is not an https:// address");
            }
        }
        var channel = GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        return new RtUdpClient(address, channel);
    }

    /// <summary>grpc.health.v1 for the whole server (""): SERVING while the engine runs.</summary>
    public Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(string service = "", CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Health.CheckAsync(new HealthCheckRequest { Service = service }, options).ConfigureAwait(false)).Status, cancellationToken);

    /// <summary>The engine's state (running, stalled, down), what stalled, and its restarts; answers while it is down too.</summary>
    public Task<GetEngineResponse> GetEngineAsync(CancellationToken cancellationToken = default) =>
        CallAsync(options => Engine.GetEngineAsync(new GetEngineRequest(), options).ResponseAsync, cancellationToken);

    public Task<GetCapabilitiesResponse> GetCapabilitiesAsync(CancellationToken cancellationToken = default) =>
        CallAsync(options => Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest(), options).ResponseAsync, cancellationToken);

    /// <summary>One reading of the daemon's clocks.</summary>
    public Task<GetClockResponse> GetClockAsync(CancellationToken cancellationToken = default) =>
        CallAsync(options => Clock.GetClockAsync(new GetClockRequest(), options).ResponseAsync, cancellationToken);

    /// <summary>An <see cref="EngineClock"/> from <paramref name="samples"/> readings (the best round trip kept).</summary>
    public Task<EngineClock> SynchronizeClockAsync(int samples = 8, CancellationToken cancellationToken = default) =>
        Translate(() => EngineClock.SynchronizeAsync(Clock, samples, cancellationToken));

    public void Dispose() => _channel.Dispose();

    private CallOptions Options(CancellationToken cancellationToken, TimeSpan extra = default) =>
        new(deadline: DateTime.UtcNow + CallTimeout + extra, cancellationToken: cancellationToken);

    private Task<T> CallAsync<T>(Func<CallOptions, Task<T>> call, CancellationToken cancellationToken, TimeSpan extra = default) =>
        Translate(() => call(Options(cancellationToken, extra)));

    /// <summary>Runs a call, turning RpcException into <see cref="RtUdpException"/> or <see cref="DaemonUnreachableException"/>.</summary>
    internal async Task<T> Translate<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw ToException(e);
        }
    }

    /// <summary>The typed exception for a failed call.</summary>
    public RtUdpException ToException(RpcException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (Unreachable(e) is { } reason)
        {
            return new DaemonUnreachableException(Address, reason, e);
        }
        return new RtUdpException(e);
    }

    /// <summary>Why the transport failed before the daemon answered, or null when the daemon answered.</summary>
    private string? Unreachable(RpcException e)
    {
        // A status the daemon sent carries its details; transport failures surface as UNAVAILABLE or, for
        // some (TLS), INTERNAL "Error starting gRPC call" with the HttpClient exception as the debug exception.
        if (e.Trailers.Get("grpc-status-details-bin") is not null || e.StatusCode is not (StatusCode.Unavailable or StatusCode.Internal))
        {
            return null;
        }
        if (Address.SocketPath is { } path && !File.Exists(path))
        {
            return "no such socket";
        }
        Exception? innermost = null;
        bool transport = false;
        for (Exception? inner = e.Status.DebugException; inner is not null; inner = inner.InnerException)
        {
            innermost = inner;
            switch (inner)
            {
                case SocketException socket:
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => "connection refused (nothing listens there)",
                        SocketError.AccessDenied => "permission denied (join the socket's group, e.g. rtudp, or run as its owner)",
                        SocketError.HostNotFound or SocketError.NoData => "host not found",
                        SocketError.TimedOut => "connection timed out",
                        _ => socket.Message,
                    };
                case UnauthorizedAccessException:
                    return "permission denied (join the socket's group, e.g. rtudp, or run as its owner)";
                case AuthenticationException auth:
                    return "TLS handshake failed: " + (auth.InnerException?.Message ?? auth.Message);
                case HttpRequestException or IOException:
                    transport = true;
                    break;
            }
        }
        if (!transport)
        {
            return null;
        }
        string reason = innermost is ObjectDisposedException or IOException ? "the connection was closed" : innermost!.Message;
        return Address.IsTls ? $"{reason} (a daemon that requires a client certificate closes TLS connections without one)" : reason;
    }
}
