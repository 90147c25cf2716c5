namespace RtUdp.Testing;

/// <summary>
/// Finds the rtudpd to run from a test or the bench: the daemon project's own output (its engine
/// sits beside it), else an rtudpd.dll beside the caller. Linked into both projects.
/// </summary>
internal static class DaemonBinary
{
    public static (string FileName, string[] Prefix) Locate()
    {
        string baseDirectory = AppContext.BaseDirectory;
        string configuration = baseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (DirectoryInfo? d = new(baseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "RtUdp.sln")))
            {
                string bin = Path.Combine(d.FullName, "src", "RtUdp.Daemon", "bin", configuration, "net10.0");
                if (File.Exists(Path.Combine(bin, "rtudpd")) && File.Exists(Path.Combine(bin, "rtudp-engine.dll")))
                {
                    return (Path.Combine(bin, "rtudpd"), []);
                }
            }
        }
        string dll = Path.Combine(baseDirectory, "rtudpd.dll");
        return File.Exists(dll) && File.Exists(Path.Combine(baseDirectory, "rtudpd.runtimeconfig.json"))
            ? ("dotnet", [dll])
            : throw new FileNotFoundException($"rtudpd was not found from {baseDirectory} (build src/RtUdp.Daemon)");
    }
}
