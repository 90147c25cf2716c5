namespace RtUdp.Package.Tests;

/// <summary>
/// Builds the Debian package once for the package tests, with packaging/deb/build.sh run on a copy of
/// the sources (so its `dotnet publish` never touches the bin/obj folders of the tests running beside
/// it). Needs root and dpkg-deb; scripts/install-test-deps.sh installs what these tests use.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    public PackageFixture()
    {
        RtUdp.Testing.Tool.Require("dpkg-deb", "dpkg");
        Repository = FindRepository();
        WorkDirectory = Directory.CreateTempSubdirectory("rtudp-package-tests-").FullName;
        string copy = Path.Combine(WorkDirectory, "src-copy");
        CopySources(Repository, copy);
        ProcessResult build = ProcessRunner.Run(Path.Combine(copy, "packaging/deb/build.sh"),
            ["--out", Path.Combine(WorkDirectory, "deb"), "--no-lintian"], TimeSpan.FromMinutes(15), workingDirectory: copy);
        BuildOutput = build.Output;
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"packaging/deb/build.sh failed (exit {build.ExitCode}):\n{build.Output}");
        }
        DebPath = build.Output.TrimEnd().Split('\n')[^1].Trim();
        if (!File.Exists(DebPath))
        {
            throw new InvalidOperationException($"build.sh did not name a .deb on its last line:\n{build.Output}");
        }
    }

    public string Repository { get; }

    public string WorkDirectory { get; }

    public string DebPath { get; }

    public string BuildOutput { get; }

    /// <summary>rtudpctl is packaged when its project is in the tree (another branch adds it).</summary>
    public bool HasCtl => Directory.Exists(Path.Combine(Repository, "src/RtUdp.Ctl"));

    public void Dispose() => Directory.Delete(WorkDirectory, recursive: true);

    private static string FindRepository()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "RtUdp.sln")))
            {
                return d.FullName;
            }
        }
        throw new InvalidOperationException($"RtUdp.sln not found above {AppContext.BaseDirectory}");
    }

    /// <summary>What a release build reads: sources, protos, build settings, packaging and deploy files.</summary>
    private static void CopySources(string from, string to)
    {
        foreach (string entry in new[] { "src", "protos", "packaging", "deploy" })
        {
            CopyTree(Path.Combine(from, entry), Path.Combine(to, entry));
        }
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig", "README.md", "NuGet.config", "nuget.config" })
        {
            if (File.Exists(Path.Combine(from, file)))
            {
                File.Copy(Path.Combine(from, file), Path.Combine(to, file));
            }
        }
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            // Scripts keep their execute bits.
            File.SetUnixFileMode(Path.Combine(to, Path.GetFileName(file)), File.GetUnixFileMode(file));
        }
        foreach (string directory in Directory.EnumerateDirectories(from))
        {
            string name = Path.GetFileName(directory);
            if (name is "bin" or "obj")
            {
                continue;
            }
            CopyTree(directory, Path.Combine(to, name));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageFixture>
{
    public const string Name = "Debian package";
}
