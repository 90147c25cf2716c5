using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Hosting;

namespace RtUdp.Daemon.Tests;

/// <summary>
/// The real rtudpd process (<see cref="HostedDaemon"/>, the daemon project's build output) serving its gRPC
/// API with plaintext HTTP/2 on a unix socket in its temporary directory and on 127.0.0.1 (port 0: the
/// kernel's choice, learnt from the "Listening on http://127.0.0.1:N" log line), and supervising a real
/// engine whose files are in a private directory under /dev/shm. The supervisor is seen only from outside:
/// its systemd notifications (READY=1, STATUS=engine PID running ...), its log and /proc.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class DaemonFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly bool _withEngine;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly IReadOnlyList<string>? _wrapper;
    private HostedDaemon? _daemon;

    public DaemonFixture()
        : this(withEngine: true)
    {
    }

    private DaemonFixture(bool withEngine, IReadOnlyDictionary<string, string?>? environment = null, IReadOnlyList<string>? wrapper = null)
    {
        _withEngine = withEngine;
        _wrapper = wrapper;
        _environment = environment ?? new Dictionary<string, string?>();
        string shm = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        EngineDirectory = Path.Combine(shm, $"rtudp-daemon-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    /// <summary>A daemon of its own (call <see cref="InitializeAsync"/>, dispose it).</summary>
    /// <param name="withEngine">False: the engine path is a file that cannot be executed, so the engine never starts.</param>
    /// <param name="environment">Extra variables for rtudpd, e.g. RTUDP_Limits__PerClientPacketsPerSecond (they override the fixture's configuration).</param>
    /// <param name="wrapper">A command that execs rtudpd (see <see cref="HostedDaemon.Start"/>), e.g. "taskset -c 0".</param>
    public static DaemonFixture Create(bool withEngine = true, IReadOnlyDictionary<string, string?>? environment = null, IReadOnlyList<string>? wrapper = null) => new(withEngine, environment, wrapper);

    public HostedDaemon Process => _daemon ?? throw new InvalidOperationException("not started");

    /// <summary>The daemon's temporary directory (holds its configuration and the unix socket).</summary>
    public string Root => Process.Root;

    public string SocketPath => Path.Combine(Root, "rtudp.sock");

    public string EngineDirectory { get; }

    /// <summary>The daemon's Capture:Directory (captures written, files replayed); under <see cref="EngineDirectory"/>.</summary>
    public string CaptureDirectory => Path.Combine(EngineDirectory, "captures");

    public Uri TcpAddress { get; private set; } = null!;

    /// <summary>The HTTP/1.1 listener (/metrics, JSON API) on 127.0.0.1, port learnt from the log like TCP's.</summary>
    public Uri HttpAddress { get; private set; } = null!;

    /// <summary>A channel over the unix socket.</summary>
    public GrpcChannel Unix { get; private set; } = null!;

    /// <summary>A channel over TCP (127.0.0.1).</summary>
    public GrpcChannel Tcp { get; private set; } = null!;

    /// <summary>rtudpd's stdout and stderr (the last 200 lines of each).</summary>
    public string Log => _daemon is null ? "" : string.Join('\n', Process.Output.Split('\n').TakeLast(200))
        + "\n--- stderr ---\n" + string.Join('\n', Process.Errors.Split('\n').TakeLast(200));

    /// <summary>The pid of the engine now running (the latest "engine PID running" STATUS), checked to be rtudpd's child.</summary>
    public int EnginePid
    {
        get
        {
            (int pid, _) = LatestEngine() ?? throw new InvalidOperationException("no engine has been reported running:\n" + Log);
            AssertChildOfDaemon(pid);
            return pid;
        }
    }

    /// <summary>The latest STATUS rtudpd sent to systemd ("" before any).</summary>
    public string Status => Process.AllMessages.Reverse().Select(m => HostedDaemon.Field(m, "STATUS")).FirstOrDefault(s => s is not null) ?? "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(EngineDirectory);
        var environment = new Dictionary<string, string?>(_environment)
        {
            ["RTUDP_Engine__Directory"] = EngineDirectory,
            ["RTUDP_Capture__Directory"] = CaptureDirectory,
        };
        string config = """
            {
              "Listen": { "UnixSocket": "$ROOT/rtudp.sock", "Tcp": "127.0.0.1:0" },
              "Http": { "Listen": "127.0.0.1:0" },
              "Engine": { "LockMemory": false, "MaxRestartDelay": "1s", "StartTimeout": "30s", "DrainWindow": "200ms" }
            }
            """;
        if (!_withEngine)
        {
            // Engine:Path must exist; a file without execute permission makes every start fail.
            string notExecutable = Path.Combine(EngineDirectory, "not-an-engine");
            await File.WriteAllTextAsync(notExecutable, "not an engine\n");
            environment["RTUDP_Engine__Path"] = notExecutable;
        }
        _daemon = HostedDaemon.Start(config, environment: environment, watchdog: false, wrapper: _wrapper);

        string tcp = await WaitForLogAsync(TcpListening(), StartTimeout, "the TCP listener");
        TcpAddress = new Uri(TcpListening().Match(tcp).Groups[1].Value);
        await WaitForLogAsync(UnixListening(), StartTimeout, "the unix socket listener");
        string http = await WaitForLogAsync(HttpListening(), StartTimeout, "the HTTP listener");
        HttpAddress = new Uri(HttpListening().Match(http).Groups[1].Value);
        Unix = CreateUnixChannel(SocketPath);
        Tcp = GrpcChannel.ForAddress(TcpAddress);
        if (_withEngine)
        {
            await WaitForEngineAsync(StartTimeout);
        }
        else
        {
            await WaitUntilAsync(() => Status.StartsWith("engine failed to start", StringComparison.Ordinal), StartTimeout, "a failed engine start");
        }
    }

    /// <summary>Waits for an engine reported running after at least <paramref name="restarts"/> restarts; returns its pid.</summary>
    public async Task<int> WaitForEngineAsync(TimeSpan timeout, int restarts = 0)
    {
        await WaitUntilAsync(() => LatestEngine() is { } e && e.Restarts >= restarts, timeout, $"an engine running after {restarts} restarts");
        return EnginePid;
    }

    /// <summary>Waits for a line of rtudpd's stdout that matches; returns it.</summary>
    public async Task<string> WaitForLogAsync(Regex pattern, TimeSpan timeout, string what)
    {
        string? line = null;
        await WaitUntilAsync(() => (line = Process.Output.Split('\n').FirstOrDefault(pattern.IsMatch)) is not null, timeout, what);
        return line!;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with the daemon's log after the timeout or if rtudpd exits.</summary>
    public Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        Wait.UntilAsync(
            () => condition() || (Process.HasExited ? throw new InvalidOperationException($"rtudpd exited before {what}:\n{Log}") : false),
            timeout,
            () => $"{what}:\n{Log}");

    /// <summary>From the latest STATUS "engine PID running, N channels (M running)[, R restarts, ...]".</summary>
    private (int Pid, int Restarts)? LatestEngine()
    {
        foreach (string message in Process.AllMessages.Reverse())
        {
            if (HostedDaemon.Field(message, "STATUS") is { } status && RunningStatus().Match(status) is { Success: true } m)
            {
                int restarts = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
                return (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), restarts);
            }
        }
        return null;
    }

    private void AssertChildOfDaemon(int pid)
    {
        // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"engine {pid} is gone: {e.Message}\n{Log}", e);
        }
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        int parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
        if (parent != Process.Pid)
        {
            throw new InvalidOperationException($"process {pid} is not rtudpd's ({Process.Pid}) child but {parent}'s");
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
        if (_daemon is not null)
        {
            // SIGTERM, then the daemon drains and stops its engine (killed if it does not exit).
            await Task.Run(_daemon.Dispose);
        }
        try
        {
            Directory.Delete(EngineDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"Listeners: Listening on (http://127\.0\.0\.1:\d+) \(plaintext HTTP/2\)")]
    private static partial Regex TcpListening();

    [GeneratedRegex(@"OperatorListener: Listening on (http://127\.0\.0\.1:\d+) \(HTTP/1\.1")]
    private static partial Regex HttpListening();

    [GeneratedRegex(@"Listeners: Listening on unix socket /")]
    private static partial Regex UnixListening();

    [GeneratedRegex(@"^engine (\d+) running, .*?(?:, (\d+) restarts,|$)")]
    private static partial Regex RunningStatus();
}

/// <summary>The tests sharing one daemon run one after another (the engine's timing is measured).</summary>
[CollectionDefinition(Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture>
{
    public const string Name = "daemon";
}
