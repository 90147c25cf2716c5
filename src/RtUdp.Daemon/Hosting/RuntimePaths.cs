namespace RtUdp.Daemon.Hosting;

/// <summary>Where the daemon keeps its runtime files when the configuration does not say.</summary>
public static class RuntimePaths
{
    /// <summary>The path systemd gives a root service with RuntimeDirectory=rtudp.</summary>
    public const string SystemSocket = "/run/rtudp/rtudp.sock";

    /// <summary>$RUNTIME_DIRECTORY (systemd), else $XDG_RUNTIME_DIR/rtudp, else /tmp/rtudp-$USER.</summary>
    public static string RuntimeDirectory()
    {
        string? runtime = Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY");
        if (!string.IsNullOrEmpty(runtime))
        {
            return runtime.Split(':')[0];
        }
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(xdg))
        {
            return Path.Combine(xdg, "rtudp");
        }
        return Path.Combine("/tmp", $"rtudp-{Environment.UserName}");
    }

    /// <summary>/run/rtudp/rtudp.sock for root under systemd, else &lt;runtime directory&gt;/rtudp.sock.</summary>
    public static string DefaultUnixSocket()
    {
        bool underSystemd = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY"));
        return underSystemd && Tmds.Linux.LibC.geteuid() == 0 ? SystemSocket : Path.Combine(RuntimeDirectory(), "rtudp.sock");
    }
}
