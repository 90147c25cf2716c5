using System.Globalization;
using System.Text.RegularExpressions;
using RtUdp.Core.Contract.Clients;
using RtUdp.Daemon.Tests.Ctl;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// The published librtudp as a linker and a C program see it, without a daemon: its soname and exports against
/// rtudp.h, the ABI version, the clock, and rtudp_last_error's promises (thread-local, "" until a failure, cut to fit
/// without breaking a UTF-8 character).
/// </summary>
public sealed partial class LibrtudpLibraryTests
{
    [Fact]
    public void Exports_exactly_the_functions_the_header_declares_under_the_soname_of_its_abi()
    {
        string library = Path.Combine(Librtudp.LibDirectory, "librtudp.so.1");
        string dynamic = Tool.Run(Tool.Require("readelf", "binutils"), "-d", library);
        Assert.Contains($"Library soname: [librtudp.so.{ShmAbi.Version}]", dynamic, StringComparison.Ordinal);
        Assert.Equal("librtudp.so.1", File.ResolveLinkTarget(Path.Combine(Librtudp.LibDirectory, "librtudp.so"), returnFinalTarget: false)?.Name);

        string header = File.ReadAllText(Path.Combine(CtlProcess.Repository(), "src", "RtUdp.Native", "include", "rtudp.h"));
        string[] declared = Declaration().Matches(header).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Contains("rtudp_send_batch", declared);
        string symbols = Tool.Run(Tool.Require("nm", "binutils"), "-D", "--defined-only", library);
        string[] exported = symbols.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')[^1].Split('@')[0])
            .Where(name => name.StartsWith("rtudp_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(declared, exported);
    }

    [Fact]
    public void Reports_its_abi_the_monotonic_clock_and_a_thread_local_message_per_failure()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"rtudp-absent-{Guid.NewGuid():N}", "rtudp-shm.sock");
        ProcessResult run = ProcessRunner.Run(Librtudp.Program("rtudp_basics"), [missing], TimeSpan.FromSeconds(30));
        Assert.True(run.ExitCode == 0, run.ToString());
        Dictionary<string, string> values = CLines.Lines(run.Stdout)
            .Select(l => l.Split(' ', 2))
            .ToDictionary(p => p[0], p => p[1].Trim('"'), StringComparer.Ordinal);

        Assert.Equal(ShmAbi.Version.ToString(CultureInfo.InvariantCulture), values["abi_version"]);
        Assert.Equal(values["abi_version"], values["header_abi_version"]);
        Assert.Equal("", values["initial_error"]);
        Assert.Equal("0", values["clock_diff_ns"]); // read between two clock_gettime(CLOCK_MONOTONIC) calls
        Assert.Equal(((int)ShmStatus.Connect).ToString(CultureInfo.InvariantCulture), values["main_rc"]);
        Assert.Contains(missing, values["main_error"], StringComparison.Ordinal);
        Assert.Equal($"{(int)ShmStatus.Invalid} rtudp_send: ch is NULL", values["thread_error"]);
        Assert.Equal(values["main_error"], values["main_error_after"]);
        // A message longer than the library's buffer is cut, on a character boundary.
        Assert.True(int.Parse(values["long_error_length"], CultureInfo.InvariantCulture) is > 100 and < 512, run.Stdout);
        Assert.Equal("1", values["long_error_valid_utf8"]);
    }

    /// <summary>A function declaration of rtudp.h: a line starting with its return type and the name.</summary>
    [GeneratedRegex(@"(?m)^(?:const\s+)?[a-z0-9_]+\s*\*?\s*(rtudp_[a-z_]+)\(")]
    private static partial Regex Declaration();
}
