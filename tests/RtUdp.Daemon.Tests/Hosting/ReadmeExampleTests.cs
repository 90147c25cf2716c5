using RtUdp.Daemon.Tests.Ctl;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>The README's first session works as written: examples/quickstart.sh, which the README quotes, against a real daemon from the repository root.</summary>
[Collection(HostingCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReadmeExampleTests(Xunit.Abstractions.ITestOutputHelper log)
{
    private const string Begin = "# --- README begin ---\n", End = "# --- README end ---\n";

    private static string QuotedLines(string script) => script.Split(Begin)[1].Split(End)[0];

    [Fact]
    public void The_readme_quotes_the_quickstart_script_verbatim()
    {
        string repository = CtlProcess.Repository();
        string lines = QuotedLines(File.ReadAllText(Path.Combine(repository, "examples", "quickstart.sh")));
        Assert.Contains("rtudpctl", lines, StringComparison.Ordinal);
        Assert.Contains("```sh\n" + lines + "```", File.ReadAllText(Path.Combine(repository, "README.md")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_quickstart_script_runs_against_a_real_daemon_from_the_repository_root()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        string repository = CtlProcess.Repository();
        string ctlDirectory = Path.GetDirectoryName(CtlProcess.Rtudpctl)!;
        CtlProcess.Result result = await CtlProcess.RunAsync(RtUdp.Testing.Tool.Require("bash", "bash"), ["examples/quickstart.sh"],
            environment: new Dictionary<string, string>
            {
                ["PATH"] = ctlDirectory + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["RTUDP_SOCKET"] = daemon.Fixture.SocketPath,
            },
            directory: repository);
        log.WriteLine(result.ToString());
        Assert.True(result.Exit == 0, $"examples/quickstart.sh: {result}\n--- daemon ---\n{daemon.Log}");
        Assert.Contains("hello world", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("flows: packets 200, unique 200, lost 0", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("rtudpctl:", result.Stderr, StringComparison.Ordinal);
    }
}
