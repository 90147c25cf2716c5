using System.Diagnostics;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Core.Tests.Control;

/// <summary>
/// engine.ctl is a contract between two processes that may come from different builds: each side
/// refuses the other's layout version with an error that says so, rather than misreading the file.
/// </summary>
public sealed class EngineControlVersionTests : IDisposable
{
    private readonly string _directory = Path.Combine("/dev/shm", $"rtudp-ctl-{Environment.ProcessId}-{Guid.NewGuid():N}");

    public EngineControlVersionTests() => Directory.CreateDirectory(_directory);

    private string ControlPath => Path.Combine(_directory, EngineControlLayout.FileName);

    [Fact]
    public void The_daemon_reads_what_the_engine_published()
    {
        using EngineControlFile engine = EngineControlFile.Create(ControlPath, memoryLocked: true);
        Assert.Null(EngineControlFile.OpenRunning(ControlPath)); // Starting: not yet
        engine.ChannelCount = 3;
        engine.Beat(now: 42);
        engine.State = EngineState.Running;

        using EngineConnection client = EngineConnection.Attach(_directory, TimeSpan.FromSeconds(5));
        EngineHealth health = client.ReadHealth();
        Assert.Equal(EngineState.Running, health.State);
        Assert.Equal(Environment.ProcessId, health.Pid);
        Assert.Equal(1, health.Heartbeat);
        Assert.Equal(42, health.HeartbeatTimeNs);
        Assert.Equal(3, health.ChannelCount);
        Assert.True(health.MemoryLocked);
    }

    [Fact]
    public void The_daemon_refuses_a_control_file_of_another_layout_version()
    {
        using EngineControlFile engine = EngineControlFile.Create(ControlPath, memoryLocked: false);
        engine.State = EngineState.Running;
        int other = EngineControlLayout.Version + 1;
        // An engine of another build: its version word (bytes 8-11) says another layout.
        using (FileStream file = File.OpenWrite(ControlPath))
        {
            file.Seek(8, SeekOrigin.Begin);
            file.Write(BitConverter.GetBytes(other));
        }

        var e = Assert.Throws<InvalidDataException>(() => EngineConnection.Attach(_directory, TimeSpan.FromSeconds(5)));
        Assert.Contains($"layout version {other}, rtudpd reads version {EngineControlLayout.Version}", e.Message, StringComparison.Ordinal);
        Assert.Contains("different builds", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_engine_refuses_a_daemon_that_reads_another_layout_version()
    {
        Assert.Null(EngineControlFile.VersionProblem(EngineControlLayout.Version));
        int other = EngineControlLayout.Version - 1;
        (string fileName, string[] prefix) = EngineProcess.Locate();
        var info = new ProcessStartInfo(fileName) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in prefix.Concat(["--dir", _directory, "--no-mlock", "--control-version", other.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            info.ArgumentList.Add(argument);
        }
        using Process engine = Process.Start(info)!;
        Task<string> error = engine.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await engine.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(2, engine.ExitCode);
        Assert.Contains($"rtudpd reads control file layout version {other}, this engine writes version {EngineControlLayout.Version}", await error, StringComparison.Ordinal);
        Assert.False(File.Exists(ControlPath), "the engine published a control file for a daemon it refused");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
