using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using RtUdp.V1;
using V1ChannelStats = RtUdp.V1.ChannelStats;

// The bench drives Linux-only things (SCHED_FIFO, /proc, the daemon whose API assembly is Linux-only).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace RtUdp.Bench;

/// <summary>
/// The real rtudpd (the daemon project's built output, its engine beside it) with a temporary config:
/// gRPC on a unix socket in a temporary directory, no TCP, the engine's files in /dev/shm. Its stdout
/// and stderr go to the bench's engine log.
/// </summary>
internal sealed class DaemonProcess : IDisposable
{
    private readonly Process _process;
    private readonly GrpcChannel _channel;

    private DaemonProcess(string root, string engineDirectory, string socket, Process process)
    {
        Root = root;
        EngineDirectory = engineDirectory;
        Socket = socket;
        _process = process;
        _channel = Connect(socket);
        Channels = new ChannelService.ChannelServiceClient(_channel);
        Packets = new PacketService.PacketServiceClient(_channel);
        Stats = new StatsService.StatsServiceClient(_channel);
        Generators = new GeneratorService.GeneratorServiceClient(_channel);
    }

    /// <summary>A gRPC channel to rtudpd's unix socket (each one its own HTTP/2 connection).</summary>
    public static GrpcChannel Connect(string socketPath) => GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        },
        MaxSendMessageSize = null,
        MaxReceiveMessageSize = null,
    });

    public string Root { get; }

    public string EngineDirectory { get; }

    public string Socket { get; }

    public int Pid => _process.Id;

    public ChannelService.ChannelServiceClient Channels { get; }

    public PacketService.PacketServiceClient Packets { get; }

    public StatsService.StatsServiceClient Stats { get; }

    public GeneratorService.GeneratorServiceClient Generators { get; }

    /// <param name="cpu">Confine rtudpd (and so the engine it starts, whose workers then pin themselves) to this CPU; null: every CPU.</param>
    public static DaemonProcess Start(List<string> log, int? cpu = null)
    {
        string tag = $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20];
        string root = Path.Combine(Path.GetTempPath(), $"rtudp-bench-grpc-{tag}");
        string engine = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"rtudp-bench-grpcd-{tag}");
        Directory.CreateDirectory(root);
        string socket = Path.Combine(root, "rtudpd.sock");
        string config = Path.Combine(root, "rtudp.json");
        File.WriteAllText(config, $$"""
            {
              "Listen": { "UnixSocket": "{{socket}}", "Tcp": "" },
              "Http": { "Listen": "" },
              "Engine": { "Directory": "{{engine}}" },
              "Log": { "Level": "Warning" }
            }
            """);
        (string file, string[] prefix) = RtUdp.Testing.DaemonBinary.Locate();
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in prefix)
        {
            info.ArgumentList.Add(arg);
        }
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(config);
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("RTUDP_", StringComparison.Ordinal)
            || k is "NOTIFY_SOCKET" or "WATCHDOG_USEC" or "WATCHDOG_PID" or "RUNTIME_DIRECTORY" or "JOURNAL_STREAM").ToList())
        {
            info.Environment.Remove(key);
        }
        Process process;
        if (cpu is { } only)
        {
            // The child inherits the affinity of the thread that forks it.
            Util.Pin(only);
            try
            {
                process = Process.Start(info)!;
            }
            finally
            {
                Util.Unpin();
            }
        }
        else
        {
            process = Process.Start(info)!;
        }
        void Add(string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.Add("rtudpd: " + line);
                }
            }
        }
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var daemon = new DaemonProcess(root, engine, socket, process);
        try
        {
            daemon.WaitReady(TimeSpan.FromSeconds(60));
        }
        catch
        {
            daemon.Dispose();
            throw;
        }
        return daemon;
    }

    /// <summary>The socket answers and the engine is up (ListChannels succeeds; health would say NOT_SERVING meanwhile).</summary>
    private void WaitReady(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"rtudpd exited with {_process.ExitCode} at start (see the log below)");
            }
            if (File.Exists(Socket))
            {
                try
                {
                    _ = Channels.ListChannels(new ListChannelsRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                    return;
                }
                catch (RpcException) when (clock.Elapsed < timeout)
                {
                }
            }
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"rtudpd did not answer on {Socket} within {timeout.TotalSeconds:0} s");
            }
            Thread.Sleep(100);
        }
    }

    /// <summary>Creates and starts a channel, retrying while the engine is still coming up (UNAVAILABLE).</summary>
    public Channel Create(string id, Channel channel)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return Channels.CreateChannel(new CreateChannelRequest { ChannelId = id, Start = true, Channel = channel }).Channel;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(100);
            }
        }
    }

    public V1ChannelStats GetStats(string name) => Stats.GetStats(new GetStatsRequest { Name = name }).Stats;

    /// <summary>CPU time (user + system) of the daemon so far, seconds; its engine is a separate process.</summary>
    public double CpuSeconds() => ProcessCpuSeconds(_process.Id);

    public static double ProcessCpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After "pid (comm) ": state is field 0, utime field 11, stime field 12 (clock ticks, 100 Hz).
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    public void Dispose()
    {
        _channel.Dispose();
        if (!_process.HasExited)
        {
            _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.WaitForExit();
        _process.Dispose();
        foreach (string directory in new[] { Root, EngineDirectory })
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
