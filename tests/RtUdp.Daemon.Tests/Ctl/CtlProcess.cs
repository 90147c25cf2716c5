namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>Runs a built program (rtudpctl, the examples) as a process and collects its exit code and output.</summary>
public static class CtlProcess
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public sealed record Result(int Exit, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {Exit}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
    }

    /// <summary>The repository root (holds RtUdp.sln).</summary>
    public static string Repository()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "RtUdp.sln")))
            {
                return d.FullName;
            }
        }
        throw new DirectoryNotFoundException("RtUdp.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>A project's apphost in its own bin/CONFIGURATION/net10.0 (the configuration the tests were built in).</summary>
    public static string Built(string projectDirectory, string assemblyName)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string path = Path.Combine(Repository(), projectDirectory, "bin", configuration, "net10.0", assemblyName);
        Assert.True(File.Exists(path), $"{path} is missing: build {projectDirectory} ({configuration})");
        return path;
    }

    public static string Rtudpctl => Built(Path.Combine("src", "RtUdp.Ctl"), "rtudpctl");

    /// <param name="stdin">Its standard input (closed after): none by default.</param>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, string? stdin = null, IDictionary<string, string>? environment = null, string? directory = null)
    {
        // The default socket must not leak in from the environment the tests run in.
        var variables = new Dictionary<string, string?> { ["RTUDP_SOCKET"] = null };
        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            variables[name] = value;
        }
        ProcessResult result = await ProcessRunner.RunAsync(file, args, Timeout, stdin ?? "", variables, directory ?? Path.GetTempPath());
        return new Result(result.ExitCode, result.Stdout, result.Stderr);
    }
}
