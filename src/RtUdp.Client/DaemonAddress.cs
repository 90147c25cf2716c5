using System.Runtime.InteropServices;

namespace RtUdp.Client;

/// <summary>Where rtudpd listens: a unix socket path, or an http:// or https:// address for its TCP listener.</summary>
public sealed partial record DaemonAddress
{
    /// <summary>The socket systemd's rtudp.service creates (RuntimeDirectory=rtudp).</summary>
    public const string SystemSocket = "/run/rtudp/rtudp.sock";

    /// <summary>Overrides the default socket path when set.</summary>
    public const string SocketVariable = "RTUDP_SOCKET";

    private DaemonAddress(string? socketPath, Uri? url)
    {
        SocketPath = socketPath;
        Url = url;
    }

    /// <summary>The unix socket, or null for a TCP address.</summary>
    public string? SocketPath { get; }

    /// <summary>The TCP address, or null for a unix socket.</summary>
    public Uri? Url { get; }

    public bool IsUnixSocket => SocketPath is not null;

    public bool IsTls => Url is { Scheme: "https" };

    public static DaemonAddress UnixSocket(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new DaemonAddress(Path.GetFullPath(path), null);
    }

    /// <summary>"http://127.0.0.1:50051" (plaintext HTTP/2) or "https://host:port" (TLS).</summary>
    public static DaemonAddress Tcp(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri || (url.Scheme != "http" && url.Scheme != "https"))
        {
            throw new ArgumentException($"'{url}' is not an http:// or https:// address", nameof(url));
        }
        return new DaemonAddress(null, url);
    }

    /// <summary>
    /// The socket to use when none is named: $RTUDP_SOCKET if set, else the first existing of
    /// <see cref="DefaultSocketCandidates"/>, else the first candidate (so the error names where rtudpd was expected).
    /// </summary>
    public static DaemonAddress Default()
    {
        IReadOnlyList<string> candidates = DefaultSocketCandidates();
        return UnixSocket(candidates.FirstOrDefault(File.Exists) ?? candidates[0]);
    }

    /// <summary>
    /// Where rtudpd puts its socket when its configuration does not say, in the order a client looks:
    /// $RTUDP_SOCKET alone when set; for root the system service's /run/rtudp/rtudp.sock first; then
    /// $XDG_RUNTIME_DIR/rtudp/rtudp.sock (or /tmp/rtudp-$USER/rtudp.sock without XDG_RUNTIME_DIR), as a
    /// daemon run by this user chooses; for other users the system socket last (reachable by group rtudp).
    /// </summary>
    public static IReadOnlyList<string> DefaultSocketCandidates()
    {
        string? explicitPath = Environment.GetEnvironmentVariable(SocketVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return [explicitPath];
        }
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        string user = string.IsNullOrEmpty(xdg)
            ? Path.Combine("/tmp", $"rtudp-{Environment.UserName}", "rtudp.sock")
            : Path.Combine(xdg, "rtudp", "rtudp.sock");
        return IsRoot() ? [SystemSocket, user] : [user, SystemSocket];
    }

    /// <summary>A path (anything without "://") is a unix socket; otherwise an http(s) URL.</summary>
    public static DaemonAddress Parse(string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            return UnixSocket(text["unix:".Length..]);
        }
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            return UnixSocket(text);
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? url))
        {
            throw new ArgumentException($"'{text}' is not a URL such as http://127.0.0.1:50051 or https://host:50051", nameof(text));
        }
        return Tcp(url);
    }

    public override string ToString() => SocketPath ?? Url!.ToString();

    private static bool IsRoot() => OperatingSystem.IsLinux() && geteuid() == 0;

    [LibraryImport("libc", SetLastError = false)]
    private static partial uint geteuid();
}
