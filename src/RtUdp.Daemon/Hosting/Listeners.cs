using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using RtUdp.Core.Native;

namespace RtUdp.Daemon.Hosting;

/// <summary>Kestrel's endpoints: HTTP/2 on the unix socket and on TCP (plaintext on loopback, or TLS).</summary>
internal static partial class Listeners
{
    /// <summary>Prepares the socket's directory and removes a stale socket file; fails if a live daemon owns it.</summary>
    public static void PrepareUnixSocket(string path)
    {
        string directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        if (!File.Exists(path))
        {
            return;
        }
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            // Nobody listens: a daemon that died left it.
            File.Delete(path);
            return;
        }
        throw new InvalidOperationException($"Listen:UnixSocket: '{path}' is in use by a running process (another rtudpd?)");
    }

    public static void Configure(KestrelServerOptions kestrel, ListenOptions listen)
    {
        if (listen.EffectiveUnixSocket is { } socket)
        {
            kestrel.ListenUnixSocket(socket, o => o.Protocols = HttpProtocols.Http2);
        }
        if (listen.TcpEndPoint is { } endpoint)
        {
            kestrel.Listen(endpoint, o =>
            {
                o.Protocols = HttpProtocols.Http2;
                if (listen.Tls.Enabled)
                {
                    o.UseHttps(Https(listen.Tls));
                }
            });
        }
    }

    private static HttpsConnectionAdapterOptions Https(TlsOptions tls)
    {
        var options = new HttpsConnectionAdapterOptions
        {
            ServerCertificate = DaemonSettings.LoadCertificate(tls),
            ClientCertificateMode = ClientCertificateMode.NoCertificate,
        };
        if (tls.ClientCertificateAuthorityPath.Length > 0)
        {
            X509Certificate2Collection authorities = DaemonSettings.LoadAuthorities(tls);
            options.ClientCertificateMode = tls.RequireClientCertificate ? ClientCertificateMode.RequireCertificate : ClientCertificateMode.AllowCertificate;
            options.ClientCertificateValidation = (certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
                return chain.Build(certificate);
            };
        }
        return options;
    }

    /// <summary>After bind: the socket file gets its configured mode (the directory's mode guards the moment before).</summary>
    public static void ApplySocketMode(ListenOptions listen, ILogger logger)
    {
        if (listen.EffectiveUnixSocket is not { } socket)
        {
            return;
        }
        File.SetUnixFileMode(socket, (UnixFileMode)listen.UnixSocketModeBits);
        string group = "";
        if (listen.UnixSocketGroup.Length > 0)
        {
            if (GroupId(listen.UnixSocketGroup) is { } gid)
            {
                // A socket made by a process whose group is already that one (User=/Group=rtudp under systemd) has
                // it; the unit's system-call filter refuses chown (@privileged), so it is called only when needed.
                if (Tmds.Linux.LibC.getegid() != gid)
                {
                    Errno.Check(Libc.chown(socket, uint.MaxValue, gid), $"chown(\"{socket}\", -1, {gid} ({listen.UnixSocketGroup}))");
                }
                group = listen.UnixSocketGroup;
            }
            else
            {
                Log.NoSocketGroup(logger, listen.UnixSocketGroup, socket);
            }
        }
        string mode = Convert.ToString(listen.UnixSocketModeBits, 8).PadLeft(4, '0');
        Log.UnixSocketListening(logger, socket, mode + (group.Length > 0 ? ", group " + group : ""));
    }

    /// <summary>A group's id from /etc/group (where systemd-sysusers and groupadd put system groups); null when absent.</summary>
    internal static uint? GroupId(string name)
    {
        if (!File.Exists("/etc/group"))
        {
            return null;
        }
        foreach (string line in File.ReadLines("/etc/group"))
        {
            string[] fields = line.Split(':');
            if (fields.Length >= 3 && fields[0] == name && uint.TryParse(fields[2], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out uint gid))
            {
                return gid;
            }
        }
        return null;
    }

    public static void LogTcp(ListenOptions listen, IEnumerable<string> addresses, ILogger logger)
    {
        if (listen.TcpEndPoint is not { } endpoint)
        {
            return;
        }
        string bound = addresses.FirstOrDefault(a => !a.StartsWith("http://unix:", StringComparison.Ordinal)) ?? endpoint.ToString();
        if (!IPAddress.IsLoopback(endpoint.Address) && !listen.Tls.Enabled)
        {
            Log.PlaintextExposed(logger, bound);
        }
        Log.TcpListening(logger, bound, listen.Tls.Enabled ? (listen.Tls.RequireClientCertificate ? "TLS, client certificate required" : listen.Tls.ClientCertificateAuthorityPath.Length > 0 ? "TLS, client certificate optional" : "TLS") : "plaintext HTTP/2");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Listening on unix socket {Path} (mode {Mode})")]
        public static partial void UnixSocketListening(ILogger logger, string path, string mode);

        [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Listening on {Address} ({Security})")]
        public static partial void TcpListening(ILogger logger, string address, string security);

        [LoggerMessage(EventId = 403, Level = LogLevel.Information, Message = "Listen:UnixSocketGroup: no group {Group}: {Path} keeps the daemon's group")]
        public static partial void NoSocketGroup(ILogger logger, string group, string path);

        [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Listening on non-loopback {Address} without TLS (Listen:AllowNonLoopbackWithoutTls): anyone who reaches it controls the daemon")]
        public static partial void PlaintextExposed(ILogger logger, string address);
    }
}
