using RtUdp.Daemon.Tests.Ctl;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>./run.sh as the README has a user type it: relative paths are the caller's.</summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RunScriptTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>dotnet run builds first (incrementally; a while on a busy machine).</summary>
    private static readonly TimeSpan BuildAndStart = TimeSpan.FromMinutes(4);

    [Theory]
    [InlineData("--config", "conf/my.json")]
    [InlineData("--config=conf/my.json", null)]
    public void Run_sh_with_a_relative_config_path_starts_with_that_file_in_the_callers_directory(string first, string? second)
    {
        string caller = Path.Combine(Path.GetTempPath(), $"rtudp-run-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(Path.Combine(caller, "conf"));
        string socket = Path.Combine(caller, "from-my-json.sock");
        File.WriteAllText(Path.Combine(caller, "conf", "my.json"), $$"""
            { "Listen": { "UnixSocket": "{{socket}}", "Tcp": "" }, "Http": { "Listen": "" } }
            """);
        try
        {
            string runSh = Path.Combine(CtlProcess.Repository(), "run.sh");
            using HostedDaemon daemon = HostedDaemon.Start(null, second is null ? [] : [second], watchdog: false, ownProcessGroup: true,
                command: [runSh, first], workingDirectory: caller);
            string ready = daemon.WaitForMessage(m => HostedDaemon.Has(m, "READY=1"), BuildAndStart, "READY=1 from ./run.sh");
            int engine = HostedDaemon.EnginePidOf(ready);
            log.WriteLine(daemon.Output);

            // It listens where conf/my.json (relative to the caller) says, ...
            Assert.Contains($"Listening on unix socket {socket}", daemon.Output, StringComparison.Ordinal);
            Assert.True(File.Exists(socket), $"{socket} is missing");
            // ... and rtudpd (the engine's parent) runs in the caller's directory, not in src/RtUdp.Daemon.
            string stat = File.ReadAllText($"/proc/{engine}/stat");
            int rtudpd = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(caller, Path.GetFullPath(new FileInfo($"/proc/{rtudpd}/cwd").LinkTarget!));

            // Ctrl+C, as in the terminal it was started from.
            HostedDaemon.Signal(-daemon.Pid, Tmds.Linux.LibC.SIGINT);
            daemon.WaitForExit(TimeSpan.FromSeconds(60));
        }
        finally
        {
            Directory.Delete(caller, recursive: true);
        }
    }
}
