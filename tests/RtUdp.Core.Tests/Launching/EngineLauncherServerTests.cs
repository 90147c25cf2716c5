using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Launching;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Launching;

/// <summary>
/// The real <c>rtudp-engine --launcher</c> driven over its socket as rtudpd drives it: it starts its own
/// binary as the engine, reports the engine's lines and exit, refuses a second engine and foreign
/// arguments, and takes its engine with it when rtudpd's end closes (no orphan holding capabilities).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EngineLauncherServerTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine("/dev/shm", $"launcher-test-{Guid.NewGuid():N}"[..24]);
    private readonly Process _launcher;
    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    public EngineLauncherServerTests()
    {
        Directory.CreateDirectory(_directory);
        (int ours, int theirs) = SocketPair();
        (string fileName, string[] prefix) = EngineProcess.Locate();
        var info = new ProcessStartInfo(fileName, [.. prefix, "--launcher", "--control-fd", theirs.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false };
        _launcher = Process.Start(info)!;
        _ = close(theirs);
        _socket = new Socket(new System.Net.Sockets.SafeSocketHandle(ours, ownsHandle: true));
        var stream = new NetworkStream(_socket, ownsSocket: false);
        _reader = new StreamReader(stream, new UTF8Encoding(false));
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    [Fact]
    public async Task Starts_its_own_binary_as_the_engine_reports_its_lines_and_exit_and_stops_it_when_the_daemons_end_closes()
    {
        (string verb, string[] fields) = await ReadAsync();
        Assert.Equal(LauncherProtocol.Ready, verb);
        Assert.Equal(_launcher.Id.ToString(CultureInfo.InvariantCulture), fields[0]);

        // A nested launcher is refused: the launcher starts engines only.
        await SendAsync(LauncherProtocol.Format(LauncherProtocol.Start, "--launcher"));
        (verb, fields) = await ReadSkippingLogsAsync();
        Assert.Equal(LauncherProtocol.Failed, verb);
        Assert.Contains("another launcher", fields[0], StringComparison.Ordinal);

        await SendAsync(LauncherProtocol.Format(LauncherProtocol.Start, "--dir", _directory, "--no-mlock"));
        (verb, fields) = await ReadSkippingLogsAsync();
        Assert.Equal(LauncherProtocol.Started, verb);
        int engine = int.Parse(fields[0], CultureInfo.InvariantCulture);
        Assert.Equal(_launcher.Id, ParentOf(engine));
        Assert.Contains("rtudp-engine", File.ReadAllText($"/proc/{engine}/cmdline"), StringComparison.Ordinal);

        // Its log lines come through; a second start while it runs is refused.
        var logs = new List<string>();
        while (!logs.Any(l => l.Contains($"engine {engine} running", StringComparison.Ordinal)))
        {
            (verb, fields) = await ReadAsync();
            Assert.Equal(LauncherProtocol.Log, verb);
            logs.Add(fields[0]);
        }
        await SendAsync(LauncherProtocol.Format(LauncherProtocol.Start, "--dir", _directory));
        (verb, fields) = await ReadSkippingLogsAsync();
        Assert.Equal(LauncherProtocol.Failed, verb);
        Assert.Contains($"engine {engine} is still running", fields[0], StringComparison.Ordinal);

        // signal 9: the exit comes back with the shell's convention, 128 + 9.
        await SendAsync(LauncherProtocol.Format(LauncherProtocol.Signal, "9"));
        (verb, fields) = await ReadSkippingLogsAsync();
        Assert.Equal(LauncherProtocol.Exited, verb);
        Assert.Equal([engine.ToString(CultureInfo.InvariantCulture), "137"], fields);

        // A new engine, then rtudpd's end closes: the launcher stops the engine (SIGTERM: clean exit) and exits 0.
        await SendAsync(LauncherProtocol.Format(LauncherProtocol.Start, "--dir", _directory, "--no-mlock"));
        (verb, fields) = await ReadSkippingLogsAsync();
        Assert.Equal(LauncherProtocol.Started, verb);
        int second = int.Parse(fields[0], CultureInfo.InvariantCulture);
        _socket.Shutdown(SocketShutdown.Send);
        using var cancel = new CancellationTokenSource(Timeout);
        await _launcher.WaitForExitAsync(cancel.Token);
        Assert.Equal(0, _launcher.ExitCode);
        Assert.False(Directory.Exists($"/proc/{second}") && !IsZombie(second), $"engine {second} outlived its launcher");
    }

    [Fact]
    public void Fields_with_tabs_or_line_breaks_are_refused_and_log_text_is_flattened()
    {
        Assert.Throws<ArgumentException>(() => LauncherProtocol.Format(LauncherProtocol.Start, "--dir", "a\tb"));
        Assert.Throws<ArgumentException>(() => LauncherProtocol.Format(LauncherProtocol.Start, "a\nb"));
        Assert.Equal("log\tx y z", LauncherProtocol.FormatLog("x\ty\nz"));
        (string verb, string[] fields) = LauncherProtocol.Parse("start\t--dir\t/a b");
        Assert.Equal(LauncherProtocol.Start, verb);
        Assert.Equal(["--dir", "/a b"], fields);
    }

    private static unsafe (int Ours, int Theirs) SocketPair()
    {
        int* fds = stackalloc int[2];
        Errno.Check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), "socketpair");
        // Only the launcher's end may be inherited.
        Errno.Check(fcntl(fds[1], F_SETFD, 0), "fcntl(F_SETFD, 0)");
        return (fds[0], fds[1]);
    }

    private Task SendAsync(string line) => _writer.WriteLineAsync(line);

    private async Task<(string Verb, string[] Fields)> ReadAsync()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        string line = await _reader.ReadLineAsync(cancel.Token) ?? throw new EndOfStreamException("the launcher closed its end");
        return LauncherProtocol.Parse(line);
    }

    private async Task<(string Verb, string[] Fields)> ReadSkippingLogsAsync()
    {
        while (true)
        {
            (string verb, string[] fields) = await ReadAsync();
            if (verb != LauncherProtocol.Log)
            {
                return (verb, fields);
            }
        }
    }

    private static int ParentOf(int pid) =>
        int.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim(), CultureInfo.InvariantCulture);

    private static bool IsZombie(int pid)
    {
        try
        {
            return File.ReadAllLines($"/proc/{pid}/status").Any(l => l.StartsWith("State:", StringComparison.Ordinal) && l.Contains('Z', StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _writer.Dispose();
        _reader.Dispose();
        _socket.Dispose();
        if (!_launcher.HasExited)
        {
            _launcher.Kill(entireProcessTree: true);
        }
        _launcher.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
