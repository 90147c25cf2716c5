using RtUdp.Daemon.Tests.Ctl;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// librtudp as a C program sees it: the published library, header and pkg-config file (scripts/build-librtudp.sh),
/// and the test programs of tests/c compiled with gcc against them, once per test run. test.sh publishes the library
/// once and says where in RTUDP_LIBRARY_DIR (its lib directory); without it (dotnet test by hand) the first test that
/// needs it publishes it into a temporary directory (a NativeAOT publish: about a minute).
/// </summary>
internal static class Librtudp
{
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<string> LibraryDirectory = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Dictionary<string, string> Compiled = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();
    private static string? _programs;

    /// <summary>The directory holding librtudp.so.1, librtudp.so and pkgconfig/rtudp.pc.</summary>
    public static string LibDirectory => LibraryDirectory.Value;

    /// <summary>The header's directory, as rtudp.pc says (the layout build-librtudp.sh makes: lib/ and include/ side by side).</summary>
    public static string IncludeDirectory => Path.Combine(Path.GetDirectoryName(LibDirectory)!, "include");

    /// <summary>tests/c/NAME.c compiled (once) with -Wall -Wextra -Werror against rtudp.h through pkg-config, linked to librtudp with an rpath.</summary>
    public static string Program(string name)
    {
        lock (Gate)
        {
            if (Compiled.TryGetValue(name, out string? done))
            {
                return done;
            }
            _programs ??= TemporaryDirectory("rtudp-c-tests-");
            string source = Path.Combine(CtlProcess.Repository(), "tests", "c", name + ".c");
            string output = Path.Combine(_programs, name);
            Compile([source], output);
            Compiled[name] = output;
            return output;
        }
    }

    /// <summary>Compiles C sources into a program linked with librtudp (flags from rtudp.pc); fails the test with gcc's output.</summary>
    public static void Compile(IReadOnlyList<string> sources, string output)
    {
        string gcc = Tool.Require("gcc", "gcc libc6-dev");
        string[] flags = PkgConfig("--cflags", "--libs");
        ProcessResult result = ProcessRunner.Run(gcc,
            ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", "-o", output, .. sources, .. flags, $"-Wl,-rpath,{LibDirectory}"],
            CompileTimeout);
        Assert.True(result.ExitCode == 0, $"gcc {string.Join(' ', sources)} failed:\n{result.Output}");
    }

    /// <summary>pkg-config's answer for rtudp.pc of the library under test.</summary>
    public static string[] PkgConfig(params string[] arguments)
    {
        string pkgConfig = Tool.Require("pkg-config", "pkgconf");
        ProcessResult result = ProcessRunner.Run(pkgConfig, [.. arguments, "rtudp"], TimeSpan.FromSeconds(30),
            environment: new Dictionary<string, string?> { ["PKG_CONFIG_PATH"] = Path.Combine(LibDirectory, "pkgconfig") });
        Assert.True(result.ExitCode == 0, $"pkg-config {string.Join(' ', arguments)} rtudp failed:\n{result.Output}");
        return result.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>A directory removed when the test run ends.</summary>
    private static string TemporaryDirectory(string prefix)
    {
        string path = Directory.CreateTempSubdirectory(prefix).FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(path, recursive: true);
        return path;
    }

    private static string Locate()
    {
        string? given = Environment.GetEnvironmentVariable("RTUDP_LIBRARY_DIR");
        if (!string.IsNullOrEmpty(given))
        {
            Assert.True(File.Exists(Path.Combine(given, "librtudp.so.1")), $"RTUDP_LIBRARY_DIR={given} has no librtudp.so.1 (scripts/build-librtudp.sh makes it)");
            return given;
        }
        // Not run by test.sh: publish it here, once for the test run.
        string published = TemporaryDirectory("rtudp-librtudp-");
        string script = Path.Combine(CtlProcess.Repository(), "scripts", "build-librtudp.sh");
        ProcessResult build = ProcessRunner.Run(script, ["--out", published], TimeSpan.FromMinutes(10));
        Assert.True(build.ExitCode == 0, $"{script} failed:\n{build.Output}");
        return Path.Combine(published, "lib");
    }
}
