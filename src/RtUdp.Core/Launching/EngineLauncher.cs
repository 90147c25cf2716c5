using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Launching;

/// <summary>
/// The daemon's side of the engine launcher. rtudpd, started with the engine's capabilities as
/// ambient capabilities (systemd's AmbientCapabilities=), spawns the launcher while it still holds
/// them (<see cref="SpawnForReexec"/>), then re-executes itself without them and adopts the launcher
/// (<see cref="AdoptFromEnvironment"/>); from then on every engine start goes through it.
/// </summary>
public sealed class EngineLauncher : IDisposable
{
    /// <summary>"PID:FD:CAPEFF" of the launcher, set for the re-executed daemon and removed by it.</summary>
    public const string EnvironmentVariable = "RTUDP_ENGINE_LAUNCHER";

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamWriter _writer;
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<string> _gone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<(LaunchedEngine? Engine, string? Error)>? _pendingStart;
    private LaunchedEngine? _current;
    private Action<string>? _pendingLog;

    private EngineLauncher(int pid, int fd, ulong capabilities)
    {
        Pid = pid;
        Capabilities = capabilities;
        _socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _writer = new StreamWriter(_stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        var reader = new Thread(ReadLoop) { IsBackground = true, Name = "engine-launcher" };
        reader.Start();
    }

    public int Pid { get; }

    /// <summary>The launcher's effective capabilities as it reported them at its start.</summary>
    public ulong Capabilities { get; }

    /// <summary>Completes with the reason when the launcher has gone: no engine can be started any more.</summary>
    public Task<string> Gone => _gone.Task;

    /// <summary>
    /// Starts <c>rtudp-engine --launcher</c> holding one end of a new socket pair that, like the other
    /// end kept here, survives this process's coming execve; waits for its ready line.
    /// </summary>
    /// <returns>The value of <see cref="EnvironmentVariable"/> for the re-executed daemon.</returns>
    public static unsafe string SpawnForReexec(string? enginePath, IReadOnlyDictionary<string, string> environment)
    {
        int* fds = stackalloc int[2];
        // No SOCK_CLOEXEC: the launcher inherits one end, this process's next image the other.
        Errno.Check(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), "socketpair(AF_UNIX, SOCK_STREAM)");
        int ours = fds[0], theirs = fds[1];
        (string fileName, string[] prefix) = EngineProcess.Locate(enginePath);
        var info = new ProcessStartInfo(fileName) { UseShellExecute = false };
        foreach (string argument in prefix)
        {
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add("--launcher");
        info.ArgumentList.Add("--control-fd");
        info.ArgumentList.Add(theirs.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--close-fd");
        info.ArgumentList.Add(ours.ToString(CultureInfo.InvariantCulture));
        foreach ((string key, string value) in environment)
        {
            info.Environment[key] = value;
        }
        int pid;
        try
        {
            using Process launcher = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
            pid = launcher.Id;
        }
        finally
        {
            _ = close(theirs);
        }
        string line = ReadLineRaw(ours, ReadyTimeout)
            ?? throw new LauncherGoneException($"the engine launcher ({fileName}, pid {pid}) exited before it was ready; its error is in the log above");
        (string verb, string[] fields) = LauncherProtocol.Parse(line);
        if (verb != LauncherProtocol.Ready || fields.Length != 2)
        {
            throw new InvalidDataException($"the engine launcher (pid {pid}) said '{line}' instead of '{LauncherProtocol.Ready} PID CAPEFF'");
        }
        return string.Join(':', pid.ToString(CultureInfo.InvariantCulture), ours.ToString(CultureInfo.InvariantCulture), fields[1]);
    }

    /// <summary>The launcher handed over by the previous image of this process, or null if there is none.</summary>
    public static EngineLauncher? AdoptFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        // Nothing this daemon starts later must see it.
        Environment.SetEnvironmentVariable(EnvironmentVariable, null);
        string[] parts = value.Split(':');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int fd)
            || !ulong.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong capabilities))
        {
            throw new InvalidDataException($"{EnvironmentVariable}='{value}' is not PID:FD:CAPEFF");
        }
        // From here on, children of this daemon must not inherit the launcher's socket.
        Errno.Check(fcntl(fd, F_SETFD, FD_CLOEXEC), $"fcntl({fd}, F_SETFD, FD_CLOEXEC) on the launcher socket");
        return new EngineLauncher(pid, fd, capabilities);
    }

    /// <summary>Asks the launcher to start an engine with <paramref name="arguments"/>.</summary>
    /// <exception cref="LauncherGoneException">The launcher has exited.</exception>
    public LaunchedEngine Launch(IReadOnlyList<string> arguments, Action<string> log, TimeSpan timeout)
    {
        var started = new TaskCompletionSource<(LaunchedEngine? Engine, string? Error)>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_gone.Task.IsCompleted)
            {
                throw new LauncherGoneException($"the engine launcher (pid {Pid}) has exited: {_gone.Task.Result}");
            }
            if (_pendingStart is not null)
            {
                throw new InvalidOperationException("an engine start is already in progress");
            }
            _pendingStart = started;
            _pendingLog = log;
            Send(LauncherProtocol.Format(LauncherProtocol.Start, arguments));
        }
        if (!started.Task.Wait(timeout))
        {
            lock (_gate)
            {
                if (_pendingStart == started)
                {
                    _pendingStart = null;
                }
            }
            throw new TimeoutException($"the engine launcher (pid {Pid}) did not answer a start within {timeout.TotalSeconds:0.#} s");
        }
        (LaunchedEngine? engine, string? error) = started.Task.Result;
        if (engine is null)
        {
            throw _gone.Task.IsCompleted
                ? new LauncherGoneException($"the engine launcher (pid {Pid}) has exited: {error}")
                : new InvalidOperationException($"the engine launcher could not start the engine: {error}");
        }
        // It may already have exited: the caller's attach sees that.
        return engine;
    }

    internal void SendSignal(int signo)
    {
        lock (_gate)
        {
            Send(LauncherProtocol.Format(LauncherProtocol.Signal, signo.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private void Send(string line)
    {
        try
        {
            _writer.WriteLine(line);
        }
        catch (IOException)
        {
            // Gone: the read loop reports it.
        }
    }

    private void ReadLoop()
    {
        string reason = "end of stream";
        try
        {
            using var reader = new StreamReader(_stream, new UTF8Encoding(false), leaveOpen: true);
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                Dispatch(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            reason = e.Message;
        }
        reason = $"{reason}; {Reap()}";
        lock (_gate)
        {
            _gone.TrySetResult(reason);
            _pendingStart?.TrySetResult((null, reason));
            _pendingStart = null;
            // The engine, a child of the launcher, notices its parent is gone and exits; for the
            // daemon it is lost either way.
            _current?.SetExited(-1);
        }
    }

    private void Dispatch(string line)
    {
        (string verb, string[] fields) = LauncherProtocol.Parse(line);
        lock (_gate)
        {
            switch (verb)
            {
                case LauncherProtocol.Log:
                    (_current?.Log ?? _pendingLog)?.Invoke(fields.Length > 0 ? fields[0] : "");
                    break;
                case LauncherProtocol.Started when fields.Length == 1 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out int pid):
                    _current = new LaunchedEngine(this, pid, _pendingLog ?? (_ => { }));
                    _pendingStart?.TrySetResult((_current, null));
                    _pendingStart = null;
                    break;
                case LauncherProtocol.Failed:
                    _pendingStart?.TrySetResult((null, fields.Length > 0 ? fields[0] : "unknown reason"));
                    _pendingStart = null;
                    break;
                case LauncherProtocol.Exited when fields.Length == 2
                    && int.TryParse(fields[0], CultureInfo.InvariantCulture, out int exitedPid)
                    && int.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int code):
                    if (_current?.Pid == exitedPid)
                    {
                        _current.SetExited(code);
                        _current = null;
                    }
                    break;
            }
        }
    }

    /// <summary>The launcher is this process's child (it was started by our previous image): collect its status.</summary>
    private unsafe string Reap()
    {
        int status;
        int result = Libc.waitpid(Pid, &status, 0);
        if (result != Pid)
        {
            return $"launcher {Pid} not reaped: {Errno.Describe(Marshal.GetLastPInvokeError())}";
        }
        return (status & 0x7f) == 0 ? $"launcher {Pid} exited with code {(status >> 8) & 0xff}" : $"launcher {Pid} killed by signal {status & 0x7f}";
    }

    private static unsafe string? ReadLineRaw(int fd, TimeSpan timeout)
    {
        var bytes = new List<byte>();
        var clock = Stopwatch.StartNew();
        byte b;
        while (true)
        {
            int remaining = (int)Math.Max(0, (timeout - clock.Elapsed).TotalMilliseconds);
            pollfd pfd = new() { fd = fd, events = POLLIN };
            int ready = poll(&pfd, 1, remaining);
            if (ready == -1)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }
                Errno.ThrowFor(Marshal.GetLastPInvokeError(), "poll(launcher socket)");
            }
            if (ready == 0)
            {
                throw new TimeoutException($"the engine launcher sent no ready line within {timeout.TotalSeconds:0} s");
            }
            long n = read(fd, &b, 1);
            if (n == 0)
            {
                return null;
            }
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }
                Errno.ThrowFor(Marshal.GetLastPInvokeError(), "read(launcher socket)");
            }
            if (b == (byte)'\n')
            {
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            bytes.Add(b);
        }
    }

    /// <summary>Closing our end tells the launcher to stop any engine and exit.</summary>
    public void Dispose()
    {
        _writer.Dispose();
        _stream.Dispose();
    }
}
