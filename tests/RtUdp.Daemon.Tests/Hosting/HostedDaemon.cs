using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>Hosting tests start real daemons (each with its engine): one at a time on a small machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostingCollection
{
    public const string Name = "Hosting (real rtudpd processes)";
}

/// <summary>
/// A real rtudpd process with its own temporary directory, engine directory, XDG runtime directory
/// and a NOTIFY_SOCKET bound here, so every sd_notify message it sends can be asserted.
/// </summary>
public sealed class HostedDaemon : IDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Socket _notify;
    private readonly Thread _notifyThread;
    private readonly BlockingCollection<string> _messages = [];
    private readonly ConcurrentQueue<string> _allMessages = new();
    private readonly ConcurrentQueue<(TimeSpan At, string Message)> _timedMessages = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly SemaphoreSlim _outputChanged = new(0);
    private volatile bool _disposed;

    private HostedDaemon(string root, Process process, Socket notify)
    {
        Root = root;
        _process = process;
        _notify = notify;
        _notifyThread = new Thread(ReceiveNotifications) { IsBackground = true, Name = "notify-socket" };
        _notifyThread.Start();
    }

    public string Root { get; }

    public string EngineDirectory => Path.Combine(Root, "engine");

    /// <summary>Where the default unix socket goes with XDG_RUNTIME_DIR = Root/xdg and no RUNTIME_DIRECTORY.</summary>
    public string DefaultSocket => Path.Combine(Root, "xdg", "rtudp", "rtudp.sock");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    public string Errors => string.Join('\n', _errors);

    public IReadOnlyCollection<string> AllMessages => _allMessages.ToArray();

    /// <summary>Every notification with when it arrived (monotonic, since the daemon was started).</summary>
    public IReadOnlyCollection<(TimeSpan At, string Message)> TimedMessages => _timedMessages.ToArray();

    /// <summary>Monotonic time since the daemon was started, as in <see cref="TimedMessages"/>.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>WATCHDOG_USEC the daemon is started with (when it has a watchdog).</summary>
    public static readonly TimeSpan WatchdogTimeout = TimeSpan.FromSeconds(6);

    /// <param name="configJson">Written to Root/rtudp.json and passed with --config (null: no config file).</param>
    /// <param name="environment">Extra variables (null value: removed).</param>
    /// <param name="ownProcessGroup">Started by setsid(1) (util-linux), which execs it as the leader of a new process group, as a shell does for a terminal's foreground job.</param>
    /// <param name="wrapper">A command that execs rtudpd after changing its process (e.g. "taskset -c 0", "prlimit --rtprio=0:0"), so rtudpd keeps the wrapper's pid.</param>
    /// <param name="command">What runs instead of the built rtudpd (e.g. ./run.sh), with the arguments after it.</param>
    /// <param name="workingDirectory">Its working directory (default: the test's).</param>
    public static HostedDaemon Start(string? configJson, IEnumerable<string>? arguments = null, IDictionary<string, string?>? environment = null, bool watchdog = true, bool ownProcessGroup = false,
        IReadOnlyList<string>? wrapper = null, IReadOnlyList<string>? command = null, string? workingDirectory = null)
    {
        string root = Path.Combine(Path.GetTempPath(), $"rtudpd-test-{Guid.NewGuid():N}"[..24]);
        Directory.CreateDirectory(root);
        string notifyPath = Path.Combine(root, "notify.sock");
        var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        notify.ReceiveTimeout = 200;

        (string fileName, string[] prefix) = command is { Count: > 0 } ? (command[0], command.Skip(1).ToArray()) : RtUdp.Testing.DaemonBinary.Locate();
        if (ownProcessGroup)
        {
            prefix = [fileName, .. prefix];
            fileName = RtUdp.Testing.Tool.Require("setsid", "util-linux");
        }
        if (wrapper is { Count: > 0 })
        {
            prefix = [.. wrapper.Skip(1), fileName, .. prefix];
            fileName = wrapper[0];
        }
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (string arg in prefix)
        {
            info.ArgumentList.Add(arg);
        }
        if (configJson is not null)
        {
            string path = Path.Combine(root, "rtudp.json");
            File.WriteAllText(path, configJson.Replace("$ROOT", root, StringComparison.Ordinal));
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(path);
        }
        foreach (string arg in arguments ?? [])
        {
            info.ArgumentList.Add(arg.Replace("$ROOT", root, StringComparison.Ordinal));
        }
        info.Environment.Remove("RUNTIME_DIRECTORY");
        info.Environment.Remove("JOURNAL_STREAM");
        foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("RTUDP_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["XDG_RUNTIME_DIR"] = Path.Combine(root, "xdg");
        info.Environment["NOTIFY_SOCKET"] = notifyPath;
        if (watchdog)
        {
            // Stall bounds derived from it: health after 1.5 s, engine restart after 3 s, WATCHDOG=1 withheld after 6 s unhealed.
            info.Environment["WATCHDOG_USEC"] = ((long)WatchdogTimeout.TotalMicroseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        info.Environment["RTUDP_Engine__Directory"] = Path.Combine(root, "engine");
        info.Environment["RTUDP_Engine__LockMemory"] = "false";
        // Not the default 127.0.0.1:9464: daemons of parallel tests (and other runs) would collide on it.
        info.Environment["RTUDP_Http__Listen"] = "127.0.0.1:0";
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value.Replace("$ROOT", root, StringComparison.Ordinal);
            }
        }
        Directory.CreateDirectory(Path.Combine(root, "xdg"));
        Process process = Process.Start(info)!;
        var daemon = new HostedDaemon(root, process, notify);
        process.OutputDataReceived += (_, e) => daemon.OnLine(daemon._output, e.Data);
        process.ErrorDataReceived += (_, e) => daemon.OnLine(daemon._errors, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    private void OnLine(ConcurrentQueue<string> queue, string? line)
    {
        if (line is not null)
        {
            queue.Enqueue(line);
            _outputChanged.Release();
        }
    }

    private void ReceiveNotifications()
    {
        byte[] buffer = new byte[4096];
        while (!_disposed)
        {
            try
            {
                int n = _notify.Receive(buffer);
                string message = Encoding.UTF8.GetString(buffer, 0, n);
                _allMessages.Enqueue(message);
                _timedMessages.Enqueue((_clock.Elapsed, message));
                _messages.Add(message);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return;
            }
        }
    }

    /// <summary>The next notification (in arrival order) that matches, skipping the others; fails after the timeout.</summary>
    public string WaitForMessage(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_messages.TryTake(out string? message, TimeSpan.FromMilliseconds(100)) && match(message))
            {
                return message;
            }
            if (_process.HasExited && _messages.Count == 0)
            {
                Assert.Fail($"rtudpd exited ({_process.ExitCode}) before {what}.\nstdout:\n{Output}\nstderr:\n{Errors}");
            }
        }
        Assert.Fail($"No {what} within {timeout.TotalSeconds} s. Messages: [{string.Join("] [", _allMessages)}]\nstdout:\n{Output}\nstderr:\n{Errors}");
        return "";
    }

    /// <summary>Takes every notification that arrives within <paramref name="window"/>.</summary>
    public List<string> Collect(TimeSpan window)
    {
        var result = new List<string>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < window)
        {
            TimeSpan left = window - clock.Elapsed;
            if (left > TimeSpan.Zero && _messages.TryTake(out string? message, left))
            {
                result.Add(message);
            }
        }
        return result;
    }

    public static bool Has(string message, string line) => message.Split('\n').Contains(line);

    public static string? Field(string message, string name) =>
        message.Split('\n').FirstOrDefault(l => l.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

    /// <summary>Waits for a stdout line that matches.</summary>
    public string WaitForOutput(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (_output.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            _outputChanged.Wait(TimeSpan.FromMilliseconds(100));
        }
        Assert.Fail($"No {what} in rtudpd's output within {timeout.TotalSeconds} s.\nstdout:\n{Output}\nstderr:\n{Errors}");
        return "";
    }

    /// <summary>READY=1; returns the engine pid from its STATUS line ("engine PID running, ...").</summary>
    public int WaitForReady()
    {
        string ready = WaitForMessage(m => Has(m, "READY=1"), StartTimeout, "READY=1");
        return EnginePidOf(ready);
    }

    public static int EnginePidOf(string message)
    {
        string status = Field(message, "STATUS") ?? "";
        string[] words = status.Split(' ');
        Assert.True(words.Length > 2 && words[0] == "engine" && words[2] == "running,", $"unexpected STATUS: {status}");
        return int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            Assert.Fail($"rtudpd did not exit within {timeout.TotalSeconds} s.\nstdout:\n{Output}\nstderr:\n{Errors}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public static void Signal(int pid, int signal) => Assert.Equal(0, Tmds.Linux.LibC.kill(pid, signal));

    public void Dispose()
    {
        _disposed = true;
        if (!_process.HasExited)
        {
            _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
            if (!_process.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        _process.Dispose();
        _notify.Dispose();
        _notifyThread.Join(TimeSpan.FromSeconds(2));
        _messages.Dispose();
        _outputChanged.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
