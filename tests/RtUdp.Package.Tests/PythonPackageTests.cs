namespace RtUdp.Package.Tests;

/// <summary>
/// python3-rtudp, the Debian package of the Python client that packaging/deb/build-python.sh makes (a package of its
/// own: the daemon's host needs no Python, a client host neither the daemon nor its .NET runtime): lintian finds no
/// error, its files are in Debian's place for Python modules, its stubs were generated at build time, and the
/// module imports from the unpacked tree with Debian's python3.
/// </summary>
public sealed class PythonPackageTests : IClassFixture<PythonPackageTests.Built>
{
    private const string BuildPackages = "python3-pip python3-setuptools python3-wheel protobuf-compiler protobuf-compiler-grpc libprotobuf-dev";
    private const string Site = "usr/lib/python3/dist-packages";
    private readonly Built _package;

    public PythonPackageTests(Built package) => _package = package;

    /// <summary>Builds the .deb once (a minute at most: no .NET publish), unpacked beside it.</summary>
    public sealed class Built : IDisposable
    {
        public Built()
        {
            RtUdp.Testing.Tool.Require("dpkg-deb", "dpkg");
            RtUdp.Testing.Tool.RequireFile("/usr/bin/grpc_python_plugin", BuildPackages);
            Work = Directory.CreateTempSubdirectory("rtudp-python-deb-").FullName;
            string repository = Repository();
            ProcessResult build = ProcessRunner.Run(Path.Combine(repository, "packaging/deb/build-python.sh"),
                ["--out", Path.Combine(Work, "deb"), "--no-lintian"], TimeSpan.FromMinutes(5), workingDirectory: repository);
            if (build.ExitCode != 0)
            {
                throw new InvalidOperationException($"build-python.sh failed:\n{build.Output}");
            }
            DebPath = build.Stdout.TrimEnd().Split('\n')[^1].Trim();
            Unpacked = Path.Combine(Work, "root");
            ProcessResult extract = ProcessRunner.Run("dpkg-deb", ["-x", DebPath, Unpacked], TimeSpan.FromMinutes(1));
            if (extract.ExitCode != 0)
            {
                throw new InvalidOperationException($"dpkg-deb -x failed:\n{extract.Output}");
            }
        }

        public string Work { get; }

        public string DebPath { get; }

        public string Unpacked { get; }

        public void Dispose() => Directory.Delete(Work, recursive: true);

        private static string Repository()
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
    }

    [Fact]
    public void Is_an_architecture_independent_python3_package_with_debians_grpcio_and_protobuf()
    {
        Assert.EndsWith("_all.deb", _package.DebPath, StringComparison.Ordinal);
        string control = RtUdp.Testing.Tool.Run("dpkg-deb", "-f", _package.DebPath);
        Assert.Contains("Package: python3-rtudp", control, StringComparison.Ordinal);
        Assert.Contains("Architecture: all", control, StringComparison.Ordinal);
        Assert.Contains("Depends: python3 (>= 3.9), python3-grpcio (>= 1.51), python3-protobuf (>= 3.21)", control, StringComparison.Ordinal);
        // The same-host path loads librtudp.so.1 with ctypes: recommended, not required (gRPC works without it).
        Assert.Contains("Recommends: librtudp1", control, StringComparison.Ordinal);
    }

    [Fact]
    public void Ships_the_module_typed_with_its_generated_stubs_in_dist_packages()
    {
        foreach (string file in new[] { "rtudp/__init__.py", "rtudp/py.typed", "rtudp/channel.py", "rtudp/_shm.py", "rtudp/aio.py", "rtudp/v1/packet_pb2.py",
                     "rtudp/v1/packet_pb2_grpc.py", "rtudp/v1/packet_pb2.pyi", "rtudp/_rpc/error_details_pb2.py" })
        {
            Assert.True(File.Exists(Path.Combine(_package.Unpacked, Site, file)), $"{file} missing from {Site}");
        }
        string[] files = Directory.GetFiles(_package.Unpacked, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_package.Unpacked, f)).ToArray();
        Assert.All(files, f => Assert.Matches("^(usr/lib/python3/dist-packages/rtudp(-[0-9.]+\\.dist-info)?/|usr/share/doc/python3-rtudp/)", f));
        // Nothing compiled (Debian byte-compiles at install) and no trace of the build machine.
        Assert.DoesNotContain(files, f => f.EndsWith(".pyc", StringComparison.Ordinal) || f.EndsWith("direct_url.json", StringComparison.Ordinal));
    }

    [Fact]
    public void Imports_with_debians_python3_from_the_unpacked_tree()
    {
        RtUdp.Testing.Tool.RequireFile("/usr/bin/python3", "python3 python3-grpcio python3-protobuf");
        ProcessResult run = ProcessRunner.Run("/usr/bin/python3",
            ["-c", "import rtudp, rtudp.aio, rtudp.v1.packet_pb2_grpc; print(rtudp.__file__); print(rtudp.RtUdp('127.0.0.1', 0, direction=1, daemon='/nonexistent.sock').name.startswith('channels/py-rx-'))"],
            TimeSpan.FromMinutes(1), environment: new Dictionary<string, string?> { ["PYTHONPATH"] = Path.Combine(_package.Unpacked, Site), ["PYTHONDONTWRITEBYTECODE"] = "1" });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.StartsWith(Path.Combine(_package.Unpacked, Site), run.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("True", run.Stdout.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void Lintian_finds_no_errors()
    {
        ProcessResult lintian = ProcessRunner.Run(RtUdp.Testing.Tool.Require("lintian", "lintian"), ["--fail-on", "error", "--tag-display-limit", "0", _package.DebPath], TimeSpan.FromMinutes(10));
        Assert.True(lintian.ExitCode == 0, $"lintian failed (exit {lintian.ExitCode}):\n{lintian.Output}");
        Assert.DoesNotMatch("(?m)^E: ", lintian.Output);
    }
}
