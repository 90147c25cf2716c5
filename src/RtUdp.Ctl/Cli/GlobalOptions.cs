using System.CommandLine;
using RtUdp.Client;

namespace RtUdp.Ctl.Cli;

/// <summary>Options every command takes: where rtudpd is, TLS files, and --json.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Socket = new("--socket")
    {
        Description = "rtudpd's unix socket (default: $RTUDP_SOCKET, else /run/rtudp/rtudp.sock or $XDG_RUNTIME_DIR/rtudp/rtudp.sock, whichever exists)",
        HelpName = "PATH",
        Recursive = true,
    };

    public static readonly Option<string?> Address = new("--address")
    {
        Description = "rtudpd's TCP listener instead: http://HOST:PORT (plaintext) or https://HOST:PORT (TLS)",
        HelpName = "URL",
        Recursive = true,
    };

    public static readonly Option<string?> Ca = new("--ca")
    {
        Description = "PEM CA certificate(s) the daemon's TLS certificate must chain to (default: the system's)",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> Cert = new("--cert")
    {
        Description = "PEM client certificate for mutual TLS",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<string?> Key = new("--key")
    {
        Description = "PEM private key of --cert (default: inside --cert)",
        HelpName = "FILE",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Machine-readable JSON on stdout (proto3 JSON mapping; one object per line for streams)",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        foreach (Option option in new Option[] { Socket, Address, Ca, Cert, Key, Json })
        {
            root.Options.Add(option);
        }
    }

    /// <summary>
    /// What is wrong with the global options, checked after parsing (a root command's validators do not run
    /// when a subcommand is invoked, and these options may follow any subcommand).
    /// </summary>
    public static IReadOnlyList<string> Problems(ParseResult result)
    {
        var problems = new List<string>();
        bool socket = result.GetResult(Socket) is not null;
        bool address = result.GetResult(Address) is not null;
        if (socket && address)
        {
            problems.Add("--socket and --address exclude each other: give one");
        }
        string? url = result.GetValue(Address);
        if (url is not null && !(url.StartsWith("http://", StringComparison.Ordinal) || url.StartsWith("https://", StringComparison.Ordinal)))
        {
            problems.Add($"--address: '{url}' is not http://HOST:PORT or https://HOST:PORT");
        }
        bool tlsFiles = result.GetResult(Ca) is not null || result.GetResult(Cert) is not null || result.GetResult(Key) is not null;
        if (tlsFiles && (url is null || !url.StartsWith("https://", StringComparison.Ordinal)))
        {
            problems.Add("--ca, --cert and --key apply to an https:// --address");
        }
        return problems;
    }

    /// <summary>The connection the options name (the default unix socket when none).</summary>
    public static RtUdpClient Connect(ParseResult parse)
    {
        string? url = parse.GetValue(Address);
        if (url is null)
        {
            string? socket = parse.GetValue(Socket);
            return RtUdpClient.Connect(socket is null ? DaemonAddress.Default() : DaemonAddress.UnixSocket(socket));
        }
        var tls = new ClientTlsOptions
        {
            CertificateAuthorityPath = parse.GetValue(Ca) ?? "",
            CertificatePath = parse.GetValue(Cert) ?? "",
            KeyPath = parse.GetValue(Key) ?? "",
        };
        foreach (string file in new[] { tls.CertificateAuthorityPath, tls.CertificatePath, tls.KeyPath }.Where(f => f.Length > 0))
        {
            if (!File.Exists(file))
            {
                throw new UsageException($"'{file}' does not exist");
            }
        }
        try
        {
            return RtUdpClient.Connect(DaemonAddress.Tcp(new Uri(url)), tls);
        }
        catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException or UriFormatException)
        {
            throw new UsageException($"--address {url}: {e.Message}");
        }
    }
}
