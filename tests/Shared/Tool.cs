namespace RtUdp.Testing;

/// <summary>
/// The programs and files from outside .NET that tests use (ip, nft, tshark, protoc, ...). A test that cannot
/// do without one fails naming the Debian package that brings it; scripts/install-test-deps.sh installs them all.
/// </summary>
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

    /// <summary>Path of a program the test cannot do without; fails naming its Debian package when missing.</summary>
    public static string Require(string name, string package)
    {
        string? path = Find(name);
        Assert.True(path is not null, Missing($"'{name}'", package));
        return path!;
    }

    /// <summary>A file (an absolute path) the test cannot do without; fails naming its Debian package when missing.</summary>
    public static string RequireFile(string path, string package)
    {
        Assert.True(File.Exists(path), Missing(path, package));
        return path;
    }

    private static string Missing(string what, string package) =>
        $"{what} is not installed: apt-get install -y {package} (scripts/install-test-deps.sh installs every package the tests use)";

    /// <summary>Runs a program to completion (30 s at most) and returns its standard output; a non-zero exit fails the test.</summary>
    public static string Run(string file, params string[] args)
    {
        ProcessResult result = ProcessRunner.Run(file, args, Timeout);
        Assert.True(result.ExitCode == 0, $"{ProcessRunner.Describe(file, args)} exited with {result.ExitCode}: {result.Stderr}");
        return result.Stdout;
    }
}
