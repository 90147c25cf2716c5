using System.Diagnostics;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// The engine outlives the thread that started it (the daemon starts it from a pool thread), and
/// stops when the process that started it dies.
/// </summary>
public sealed class EngineParentTests
{
    private static string NewDirectory() => Path.Combine("/dev/shm", $"rtudp-parent-{Environment.ProcessId}-{Guid.NewGuid():N}");

    [Fact]
    public void The_engine_keeps_running_after_the_starting_thread_exits()
    {
        string directory = NewDirectory();
        EngineProcess? engine = null;
        var starter = new Thread(() => engine = EngineProcess.Start(directory, _ => { }, lockMemory: false));
        starter.Start();
        Assert.True(starter.Join(TimeSpan.FromSeconds(30)), "engine start hung");
        Assert.NotNull(engine);
        try
        {
            // Several conductor heartbeats after the thread is gone: still the same live engine.
            long beat = engine.Client.ReadHealth().Heartbeat;
            Wait.Until(() => engine.Client.ReadHealth().Heartbeat >= beat + 5 || engine.HasExited, TimeSpan.FromSeconds(5), () => "heartbeats");
            Assert.False(engine.HasExited, "the engine stopped when the thread that started it exited");
            Assert.Equal(EngineState.Running, engine.Client.ReadHealth().State);
        }
        finally
        {
            engine.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_engine_stops_when_its_parent_process_dies()
    {
        string directory = NewDirectory();
        Directory.CreateDirectory(directory);
        (string fileName, string[] prefix) = EngineProcess.Locate();
        string command = string.Join(' ', new[] { fileName }.Concat(prefix).Concat(["--dir", directory, "--no-mlock"]).Select(a => $"'{a}'"));
        // A parent shell that starts the engine in the background and waits for a line on stdin.
        var parent = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"{command} 2>/dev/null & read line"]) { RedirectStandardInput = true })!;
        try
        {
            using EngineConnection client = EngineConnection.Attach(directory, TimeSpan.FromSeconds(30));
            int pid = client.ReadHealth().Pid;
            Assert.True(Directory.Exists($"/proc/{pid}"));

            parent.StandardInput.WriteLine("go"); // the shell exits; the engine is orphaned
            Assert.True(parent.WaitForExit(5000));
            Wait.Until(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z", TimeSpan.FromSeconds(10), () => $"engine {pid} still running after its parent died");
        }
        finally
        {
            if (!parent.HasExited)
            {
                parent.Kill();
            }
            parent.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}
