using System.Text.RegularExpressions;

namespace RtUdp.Package.Tests;

/// <summary>The .deb that packaging/deb/build.sh makes: its files, control fields, conffiles, scripts, and lintian.</summary>
[Collection(PackageCollection.Name)]
public sealed partial class PackageLayoutTests(PackageFixture package)
{
    private static readonly string[] ExpectedFiles =
    [
        "usr/lib/rtudp/rtudpd",
        "usr/lib/rtudp/rtudpd.dll",
        "usr/lib/rtudp/rtudp-engine",
        "usr/lib/rtudp/rtudp_xdp.bpf.o",
        "usr/lib/rtudp/libcoreclr.so",
        "lib/systemd/system/rtudp.service",
        "usr/lib/sysusers.d/rtudp.conf",
        "usr/lib/tmpfiles.d/rtudp.conf",
        "etc/rtudp/rtudp.json",
        "usr/share/doc/rtudp/copyright",
        "usr/share/doc/rtudp/changelog.gz",
        "usr/share/doc/rtudp/README.md",
        "usr/share/doc/rtudp/examples/rtudp-xdp.conf",
    ];

    [Fact]
    public void Contains_the_programs_the_unit_and_the_configuration_in_the_expected_places()
    {
        Dictionary<string, string> entries = Contents();
        foreach (string file in ExpectedFiles)
        {
            Assert.True(entries.ContainsKey(file), $"{file} missing from the package:\n{string.Join('\n', entries.Keys)}");
        }
        Assert.StartsWith("-rwxr-xr-x root/root", entries["usr/lib/rtudp/rtudpd"], StringComparison.Ordinal);
        Assert.StartsWith("-rwxr-xr-x root/root", entries["usr/lib/rtudp/rtudp-engine"], StringComparison.Ordinal);
        Assert.StartsWith("-rw-r--r-- root/root", entries["etc/rtudp/rtudp.json"], StringComparison.Ordinal);
        // Debug files and the LTTng provider (a dependency on liblttng-ust) stay out.
        Assert.DoesNotContain(entries.Keys, f => f.EndsWith(".pdb", StringComparison.Ordinal) || f.EndsWith(".dbg", StringComparison.Ordinal));
        Assert.DoesNotContain("usr/lib/rtudp/libcoreclrtraceptprovider.so", entries.Keys);
        // Everything under the layout the README documents.
        Assert.All(entries.Keys, f => Assert.Matches("^(usr/lib/rtudp/|usr/bin/rtudpctl$|lib/systemd/system/|usr/lib/(sysusers|tmpfiles)\\.d/|etc/rtudp/|usr/share/(doc|lintian)/)", f));
    }

    [Fact]
    public void Puts_rtudpctl_on_the_path_when_its_project_exists()
    {
        Dictionary<string, string> entries = Contents();
        if (package.HasCtl)
        {
            Assert.True(entries.TryGetValue("usr/bin/rtudpctl", out string? link), "usr/bin/rtudpctl missing");
            Assert.EndsWith("-> ../lib/rtudp/rtudpctl", link, StringComparison.Ordinal);
            Assert.True(entries.ContainsKey("usr/lib/rtudp/rtudpctl"));
        }
        else
        {
            Assert.DoesNotContain("usr/bin/rtudpctl", entries.Keys);
            Assert.Contains("WARNING: src/RtUdp.Ctl is missing", package.BuildOutput, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Ships_the_repository_unit_sysusers_and_tmpfiles_unchanged()
    {
        string root = Extract();
        Assert.Equal(File.ReadAllText(Path.Combine(package.Repository, "deploy/systemd/rtudp.service")), File.ReadAllText(Path.Combine(root, "lib/systemd/system/rtudp.service")));
        Assert.Equal(File.ReadAllText(Path.Combine(package.Repository, "deploy/systemd/rtudp.sysusers")), File.ReadAllText(Path.Combine(root, "usr/lib/sysusers.d/rtudp.conf")));
        Assert.Equal(File.ReadAllText(Path.Combine(package.Repository, "deploy/systemd/rtudp.tmpfiles")), File.ReadAllText(Path.Combine(root, "usr/lib/tmpfiles.d/rtudp.conf")));
        Assert.Equal(File.ReadAllText(Path.Combine(package.Repository, "packaging/rtudp.json")), File.ReadAllText(Path.Combine(root, "etc/rtudp/rtudp.json")));
    }

    [Fact]
    public void Control_fields_and_conffiles()
    {
        ProcessResult fields = Run("dpkg-deb", "-f", package.DebPath, "Package", "Architecture", "Depends");
        Assert.Contains("Package: rtudp", fields.Output, StringComparison.Ordinal);
        Assert.Contains($"Architecture: {DebianArchitecture()}", fields.Output, StringComparison.Ordinal);
        Assert.Matches("Depends: .*libcap2-bin", fields.Output);
        Assert.Matches("Depends: .*systemd", fields.Output);
        // The xdp data path: libxdp's dispatcher and libbpf's maps, P/Invoked by rtudp-engine.
        Assert.Matches("Depends: .*libxdp1", fields.Output);
        Assert.Matches("Depends: .*libbpf1", fields.Output);
        Assert.Equal("/etc/rtudp/rtudp.json", Run("dpkg-deb", "-I", package.DebPath, "conffiles").Output.Trim());
    }

    [Fact]
    public void Maintainer_scripts_create_the_user_set_file_capabilities_and_drive_systemd_as_debhelper_does()
    {
        string control = Path.Combine(package.WorkDirectory, "control-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, Run("dpkg-deb", "-e", package.DebPath, control).ExitCode);
        foreach (string script in new[] { "postinst", "prerm", "postrm" })
        {
            string path = Path.Combine(control, script);
            Assert.True(File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute), $"{script} is not executable");
            Assert.Equal(0, Run("sh", "-n", path).ExitCode);
        }
        string postinst = File.ReadAllText(Path.Combine(control, "postinst"));
        Assert.Contains("systemd-sysusers rtudp.conf", postinst, StringComparison.Ordinal);
        Assert.Contains("setcap cap_sys_nice,cap_ipc_lock,cap_net_admin=ep /usr/lib/rtudp/rtudp-engine", postinst, StringComparison.Ordinal);
        Assert.Contains("deb-systemd-helper enable 'rtudp.service'", postinst, StringComparison.Ordinal);
        Assert.Contains("deb-systemd-invoke $_dh_action 'rtudp.service'", postinst, StringComparison.Ordinal);
        Assert.Contains("deb-systemd-invoke stop 'rtudp.service'", File.ReadAllText(Path.Combine(control, "prerm")), StringComparison.Ordinal);
        string postrm = File.ReadAllText(Path.Combine(control, "postrm"));
        Assert.Contains("deb-systemd-helper purge 'rtudp.service'", postrm, StringComparison.Ordinal);
        Assert.Contains("userdel rtudp", postrm, StringComparison.Ordinal);
    }

    [Fact]
    public void The_packaged_engine_is_native_code_that_runs_without_the_runtime_beside_it()
    {
        // linux-x64 packages built on x64 carry the NativeAOT engine: one ELF file, no rtudp-engine.dll.
        Assert.Equal("x86_64", Run("uname", "-m").Output.Trim());
        string root = Extract();
        string engine = Path.Combine(root, "usr/lib/rtudp/rtudp-engine");
        Assert.False(File.Exists(Path.Combine(root, "usr/lib/rtudp/rtudp-engine.dll")), "a JIT engine (rtudp-engine.dll) was packaged");
        string alone = Path.Combine(package.WorkDirectory, "engine-alone-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(alone);
        File.Copy(engine, Path.Combine(alone, "rtudp-engine"));
        File.SetUnixFileMode(Path.Combine(alone, "rtudp-engine"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        // Its own argument check answers: the program started without libcoreclr or any managed dll.
        ProcessResult result = ProcessRunner.Run(Path.Combine(alone, "rtudp-engine"), ["--no-such-option"], TimeSpan.FromSeconds(30));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("rtudp-engine: unknown argument '--no-such-option'", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Lintian_finds_no_errors()
    {
        ProcessResult lintian = ProcessRunner.Run(RtUdp.Testing.Tool.Require("lintian", "lintian"), ["--fail-on", "error", "--tag-display-limit", "0", package.DebPath], TimeSpan.FromMinutes(10));
        Assert.True(lintian.ExitCode == 0, $"lintian failed (exit {lintian.ExitCode}):\n{lintian.Output}");
        Assert.DoesNotMatch("(?m)^E: ", lintian.Output);
    }

    /// <summary>dpkg-deb -c, keyed by path without the leading "./": value is the whole listing line.</summary>
    private Dictionary<string, string> Contents()
    {
        ProcessResult listing = Run("dpkg-deb", "-c", package.DebPath);
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in listing.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m = ListingLine().Match(line);
            Assert.True(m.Success, $"unexpected dpkg-deb -c line: {line}");
            if (!line.StartsWith('d'))
            {
                entries[m.Groups["path"].Value] = line;
            }
        }
        return entries;
    }

    private string Extract()
    {
        string root = Path.Combine(package.WorkDirectory, "root-" + Guid.NewGuid().ToString("N"));
        Assert.Equal(0, Run("dpkg-deb", "-x", package.DebPath, root).ExitCode);
        return root;
    }

    private static string DebianArchitecture() => Run("dpkg", "--print-architecture").Output.Trim();

    private static ProcessResult Run(string program, params string[] arguments)
    {
        ProcessResult result = ProcessRunner.Run(program, arguments, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({result.ExitCode}):\n{result.Output}");
        return result;
    }

    [GeneratedRegex(@"^\S+ \S+\s+\d+ \S+ \S+ \./(?<path>[^ ]*)")]
    private static partial Regex ListingLine();
}
