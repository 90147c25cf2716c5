namespace RtUdp.Package.Tests;

/// <summary>
/// librtudp1 and librtudp-dev, the Debian packages packaging/deb/build-librtudp.sh makes (the library under its soname;
/// the link, rtudp.h and rtudp.pc): lintian finds no error, the files are in Debian's multiarch places, the shlibs and
/// symbols files name every export, and a C program builds against the unpacked -dev tree through pkg-config and runs
/// with the unpacked library.
/// </summary>
public sealed class LibrtudpPackageTests : IClassFixture<LibrtudpPackageTests.Built>
{
    private const string LibDir = "usr/lib/x86_64-linux-gnu";
    private readonly Built _packages;

    public LibrtudpPackageTests(Built packages) => _packages = packages;

    /// <summary>
    /// Builds both packages once, unpacked side by side. The library test.sh published (RTUDP_LIBRARY_DIR) is packaged
    /// as is; without it (dotnet test by hand) the script publishes one (a NativeAOT publish, about a minute).
    /// </summary>
    public sealed class Built : IDisposable
    {
        public Built()
        {
            Tool.Require("dpkg-deb", "dpkg");
            Work = Directory.CreateTempSubdirectory("rtudp-librtudp-deb-").FullName;
            string repository = Repository();
            List<string> arguments = ["--out", Path.Combine(Work, "deb"), "--no-lintian"];
            string? published = Environment.GetEnvironmentVariable("RTUDP_LIBRARY_DIR");
            if (!string.IsNullOrEmpty(published))
            {
                arguments.AddRange(["--library", Path.Combine(published, "librtudp.so.1")]);
            }
            ProcessResult build = ProcessRunner.Run(Path.Combine(repository, "packaging/deb/build-librtudp.sh"), arguments,
                TimeSpan.FromMinutes(10), workingDirectory: repository);
            if (build.ExitCode != 0)
            {
                throw new InvalidOperationException($"build-librtudp.sh failed:\n{build.Output}");
            }
            string[] debs = build.Stdout.TrimEnd().Split('\n')[^2..].Select(l => l.Trim()).ToArray();
            LibraryDeb = debs[0];
            DevDeb = debs[1];
            Unpacked = Path.Combine(Work, "root");
            foreach (string deb in debs)
            {
                ProcessResult extract = ProcessRunner.Run("dpkg-deb", ["-x", deb, Unpacked], TimeSpan.FromMinutes(1));
                if (extract.ExitCode != 0)
                {
                    throw new InvalidOperationException($"dpkg-deb -x {deb} failed:\n{extract.Output}");
                }
            }
        }

        public string Work { get; }

        public string LibraryDeb { get; }

        public string DevDeb { get; }

        public string Unpacked { get; }

        public void Dispose() => Directory.Delete(Work, recursive: true);

        internal static string Repository()
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
    public void The_library_package_is_named_after_its_soname_and_holds_only_the_library()
    {
        Assert.EndsWith("librtudp1_0.1.0_amd64.deb", _packages.LibraryDeb, StringComparison.Ordinal);
        string control = Tool.Run("dpkg-deb", "-f", _packages.LibraryDeb);
        Assert.Contains("Package: librtudp1", control, StringComparison.Ordinal);
        Assert.Contains("Multi-Arch: same", control, StringComparison.Ordinal);
        Assert.Contains("Section: libs", control, StringComparison.Ordinal);
        Assert.Equal(["usr/lib/x86_64-linux-gnu/librtudp.so.1", "usr/share/doc/librtudp1/changelog.gz", "usr/share/doc/librtudp1/copyright"], Files(_packages.LibraryDeb));

        // What dpkg-shlibdeps reads for programs linked with -lrtudp: the shlibs line and every export in symbols.
        string controlDir = Path.Combine(_packages.Work, "control");
        Tool.Run("dpkg-deb", "-e", _packages.LibraryDeb, controlDir);
        Assert.Equal("librtudp 1 librtudp1 (>= 0.1.0)", File.ReadAllText(Path.Combine(controlDir, "shlibs")).Trim());
        Assert.Equal("activate-noawait ldconfig", File.ReadAllText(Path.Combine(controlDir, "triggers")).Trim());
        string symbols = File.ReadAllText(Path.Combine(controlDir, "symbols"));
        Assert.StartsWith("librtudp.so.1 librtudp1 #MINVER#\n", symbols, StringComparison.Ordinal);
        string header = File.ReadAllText(Path.Combine(Built.Repository(), "src/RtUdp.Native/include/rtudp.h"));
        foreach (string function in new[] { "rtudp_connect", "rtudp_attach", "rtudp_send", "rtudp_send_batch", "rtudp_receive", "rtudp_stats_get", "rtudp_detach", "rtudp_disconnect", "rtudp_last_error", "rtudp_abi_version", "rtudp_monotonic_ns" })
        {
            Assert.Contains($" {function}(", header, StringComparison.Ordinal);
            Assert.Contains($" {function}@", symbols, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_dev_package_holds_the_link_the_header_and_the_pkg_config_file()
    {
        string control = Tool.Run("dpkg-deb", "-f", _packages.DevDeb);
        Assert.Contains("Package: librtudp-dev", control, StringComparison.Ordinal);
        Assert.Contains("Depends: librtudp1 (= 0.1.0)", control, StringComparison.Ordinal);
        Assert.Contains("Section: libdevel", control, StringComparison.Ordinal);
        Assert.Equal(["usr/include/rtudp.h", $"{LibDir}/librtudp.so", $"{LibDir}/pkgconfig/rtudp.pc", "usr/share/doc/librtudp-dev/changelog.gz", "usr/share/doc/librtudp-dev/copyright"],
            Files(_packages.DevDeb));
        Assert.Equal("librtudp.so.1", File.ResolveLinkTarget(Path.Combine(_packages.Unpacked, LibDir, "librtudp.so"), returnFinalTarget: false)?.Name);
        string pc = File.ReadAllText(Path.Combine(_packages.Unpacked, LibDir, "pkgconfig/rtudp.pc"));
        Assert.Contains("prefix=/usr\n", pc, StringComparison.Ordinal);
        Assert.Contains("libdir=${prefix}/lib/x86_64-linux-gnu\n", pc, StringComparison.Ordinal);
    }

    [Fact]
    public void A_c_program_builds_against_the_unpacked_packages_through_pkg_config_and_runs()
    {
        string gcc = Tool.Require("gcc", "gcc libc6-dev");
        string pkgConfig = Tool.Require("pkg-config", "pkgconf");
        // The unpacked tree stands in for / (PKG_CONFIG_SYSROOT_DIR prefixes the .pc's /usr paths with it).
        var environment = new Dictionary<string, string?>
        {
            ["PKG_CONFIG_SYSROOT_DIR"] = _packages.Unpacked,
            ["PKG_CONFIG_LIBDIR"] = Path.Combine(_packages.Unpacked, LibDir, "pkgconfig"),
        };
        ProcessResult flags = ProcessRunner.Run(pkgConfig, ["--cflags", "--libs", "rtudp"], TimeSpan.FromSeconds(30), environment: environment);
        Assert.True(flags.ExitCode == 0, flags.ToString());
        Assert.Contains($"-I{_packages.Unpacked}/usr/include", flags.Stdout, StringComparison.Ordinal);

        string source = Path.Combine(_packages.Work, "abi.c");
        string program = Path.Combine(_packages.Work, "abi");
        File.WriteAllText(source, """
            #include <rtudp.h>
            #include <stdio.h>
            int main(void)
            {
                printf("%u %d\n", rtudp_abi_version(), rtudp_monotonic_ns() > 0);
                return rtudp_abi_version() == RTUDP_ABI_VERSION ? 0 : 1;
            }
            """);
        ProcessResult compile = ProcessRunner.Run(gcc,
            ["-std=c11", "-Wall", "-Werror", "-o", program, source, .. flags.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)], TimeSpan.FromMinutes(1));
        Assert.True(compile.ExitCode == 0, compile.ToString());
        ProcessResult run = ProcessRunner.Run(program, [], TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string?> { ["LD_LIBRARY_PATH"] = Path.Combine(_packages.Unpacked, LibDir) });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("1 1", run.Stdout.Trim());
    }

    [Fact]
    public void Lintian_finds_no_errors_or_warnings()
    {
        ProcessResult lintian = ProcessRunner.Run(Tool.Require("lintian", "lintian"),
            ["--fail-on", "error,warning", "--tag-display-limit", "0", _packages.LibraryDeb, _packages.DevDeb], TimeSpan.FromMinutes(10));
        Assert.True(lintian.ExitCode == 0, $"lintian failed (exit {lintian.ExitCode}):\n{lintian.Output}");
        Assert.DoesNotMatch("(?m)^[EW]: ", lintian.Output);
    }

    /// <summary>The regular files and links of a .deb, sorted, without the leading "./".</summary>
    private static string[] Files(string deb) =>
        Tool.Run("dpkg-deb", "-c", deb).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line[0] is '-' or 'l')
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[5].TrimStart('.', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
}
