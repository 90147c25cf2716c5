using System.Diagnostics;

namespace RtUdp.Core.Tests.Capabilities;

/// <summary>Runs a system tool (ethtool, tc) whose output is the oracle for a capability test.</summary>
internal static class Tool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Full path of <paramref name="name"/> on PATH or in the sbin directories, or null.</summary>
    public static string? Find(string name)
    {
        IEnumerable<string> dirs = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
        return dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Path of a tool the test cannot do without; fails with an install hint when missing.</summary>
    public static string Require(string name, string package)
    {
        string? path = Find(name);
        Assert.True(path is not null,
            $"'{name}' is not installed; install it with `apt-get install -y {package}` (.ci/run installs it for CI).");
        return path!;
    }

    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["LC_ALL"] = "C";
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {Timeout}");
        }

        Assert.True(process.ExitCode == 0,
            $"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.GetAwaiter().GetResult()}");
        return stdout.GetAwaiter().GetResult();
    }
}
