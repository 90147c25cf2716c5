using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using RtUdp.Core.Contract.Channels;
using RtUdp.Daemon.Capture;
using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Hosting;

/// <summary>Configuration section "Listen": the gRPC listeners.</summary>
public sealed class ListenOptions
{
    /// <summary>Unix socket path; null: the default (<see cref="RuntimePaths.DefaultUnixSocket"/>); empty: no unix socket.</summary>
    public string? UnixSocket { get; set; }

    /// <summary>Octal mode the socket file gets after bind.</summary>
    public string UnixSocketMode { get; set; } = "0660";

    /// <summary>Group the socket file is given after bind, when that group exists (its members may call the daemon); empty: the daemon's own group.</summary>
    public string UnixSocketGroup { get; set; } = "rtudp";

    /// <summary>TCP endpoint (plaintext HTTP/2 unless <see cref="Tls"/> is set); empty: no TCP listener.</summary>
    public string Tcp { get; set; } = "127.0.0.1:50051";

    /// <summary>Allow a non-loopback TCP address without TLS (anyone who can reach it controls the daemon).</summary>
    public bool AllowNonLoopbackWithoutTls { get; set; }

    public TlsOptions Tls { get; set; } = new();

    /// <summary>
    /// The same-host clients' broker socket (SOCK_SEQPACKET, docs/shm-clients.md); null: <c>rtudp-shm.sock</c> beside
    /// the gRPC unix socket (or where that would be by default); empty: no broker. Same mode and group as the gRPC socket.
    /// </summary>
    public string? ShmSocket { get; set; }

    /// <summary>The broker socket path in effect, or null when disabled.</summary>
    public string? EffectiveShmSocket => ShmSocket is null
        ? RtUdp.Core.Contract.Clients.ShmSocketPath.Beside(EffectiveUnixSocket ?? RuntimePaths.DefaultUnixSocket())
        : ShmSocket.Length == 0 ? null : ShmSocket;

    /// <summary>The unix socket path in effect, or null when disabled.</summary>
    public string? EffectiveUnixSocket => UnixSocket is null ? RuntimePaths.DefaultUnixSocket() : UnixSocket.Length == 0 ? null : UnixSocket;

    /// <summary>Parsed at validation.</summary>
    public IPEndPoint? TcpEndPoint { get; internal set; }

    /// <summary>Parsed at validation.</summary>
    public int UnixSocketModeBits { get; internal set; } = 0x1B0;
}

/// <summary>Configuration section "Listen:Tls": TLS for the TCP listener.</summary>
public sealed class TlsOptions
{
    /// <summary>PEM certificate (chain); empty: no TLS.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>PEM private key; empty: the key is in the certificate file.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>PEM CA bundle that client certificates must chain to; empty: client certificates are not asked for.</summary>
    public string ClientCertificateAuthorityPath { get; set; } = "";

    /// <summary>Refuse clients without a valid certificate (needs <see cref="ClientCertificateAuthorityPath"/>).</summary>
    public bool RequireClientCertificate { get; set; }

    public bool Enabled => CertificatePath.Length > 0;
}

/// <summary>Configuration section "Log".</summary>
public sealed class LogOptions
{
    /// <summary>"text" or "json" (compact JSON, one event per line).</summary>
    public string Format { get; set; } = "text";

    /// <summary>Prefix each line with its syslog priority ("&lt;6&gt;") for journald: "auto" (when $JOURNAL_STREAM is set), "true", "false".</summary>
    public string SyslogPrefix { get; set; } = "auto";

    /// <summary>Minimum level: Verbose, Debug, Information, Warning, Error, Fatal.</summary>
    public string Level { get; set; } = "Information";
}

/// <summary>A channel declared in the configuration ("Channels:N"), created and started at start.</summary>
/// <param name="Key">Its configuration key ("Channels:0").</param>
/// <param name="Start">Start its workers (true) or only create it.</param>
public sealed record ConfiguredChannel(string Key, ChannelConfig Config, bool Start);

/// <summary>The whole configuration, bound and validated.</summary>
public sealed class DaemonSettings
{
    public ListenOptions Listen { get; } = new();

    public EngineSupervisorOptions Engine { get; } = new();

    public LogOptions Log { get; } = new();

    /// <summary>Section "Capture": the capture directory (captures written, files replayed).</summary>
    public CaptureOptions Capture { get; } = new();
    public Http.HttpOptions Http { get; } = new();
    public Limits.ClientLimitsOptions Limits { get; } = new();

    public IReadOnlyList<ConfiguredChannel> Channels { get; private set; } = [];

    /// <summary>Binds and checks every section; the problems name their keys ("Listen:Tcp: ...").</summary>
    public static (DaemonSettings Settings, IReadOnlyList<string> Problems) Load(IConfiguration configuration)
    {
        var settings = new DaemonSettings();
        var problems = new List<string>();
        Bind(configuration, "Listen", settings.Listen, problems);
        Bind(configuration, "Listen:Tls", settings.Listen.Tls, problems);
        Bind(configuration, "Engine", settings.Engine, problems);
        Bind(configuration, "Log", settings.Log, problems);
        Bind(configuration, "Capture", settings.Capture, problems);
        ValidateListen(settings.Listen, problems);
        ValidateEngine(settings.Engine, problems);
        ValidateLog(settings.Log, problems);
        problems.AddRange(settings.Capture.Validate());
        Bind(configuration, "Http", settings.Http, problems);
        RtUdp.Daemon.Http.HttpOptions.Validate(settings.Http, settings.Listen, problems);
        Bind(configuration, "Limits", settings.Limits, problems);
        problems.AddRange(settings.Limits.Validate());
        settings.Channels = ChannelSection.Parse(configuration.GetSection("Channels"), problems);
        return (settings, problems);
    }

    private static void Bind(IConfiguration configuration, string section, object target, List<string> problems)
    {
        // Bound property by property so that a bad value names its own key.
        foreach (System.Reflection.PropertyInfo property in target.GetType().GetProperties())
        {
            if (!property.CanWrite || property.SetMethod is not { IsPublic: true })
            {
                continue;
            }
            string key = $"{section}:{property.Name}";
            string? value = configuration[key];
            if (value is null)
            {
                continue;
            }
            Type type = property.PropertyType;
            try
            {
                object converted = type == typeof(string) ? value
                    : type == typeof(bool) ? bool.Parse(value)
                    : type == typeof(int) ? int.Parse(value, CultureInfo.InvariantCulture)
                    : type == typeof(TimeSpan) ? ParseDuration(value)
                    : throw new FormatException($"unsupported type {type.Name}");
                property.SetValue(target, converted);
            }
            catch (FormatException)
            {
                string expected = type == typeof(bool) ? "true or false" : type == typeof(TimeSpan) ? "a duration (\"2s\", \"500ms\", \"00:00:02\")" : $"a {type.Name}";
                problems.Add($"{key}: '{value}' is not {expected}");
            }
            catch (OverflowException)
            {
                problems.Add($"{key}: '{value}' is out of range");
            }
        }
    }

    /// <summary>"2s", "500ms", "1.5s", "1m", or a TimeSpan ("00:00:02").</summary>
    public static TimeSpan ParseDuration(string value)
    {
        string v = value.Trim();
        (string suffix, double scale)[] units = [("ms", 1), ("s", 1000), ("m", 60_000)];
        foreach ((string suffix, double scale) in units)
        {
            if (v.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && double.TryParse(v[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && n >= 0)
            {
                return TimeSpan.FromMilliseconds(n * scale);
            }
        }
        return TimeSpan.Parse(v, CultureInfo.InvariantCulture);
    }

    private static void ValidateListen(ListenOptions listen, List<string> problems)
    {
        try
        {
            listen.UnixSocketModeBits = Convert.ToInt32(listen.UnixSocketMode, 8);
            if (listen.UnixSocketModeBits is < 0 or > 0x1FF)
            {
                throw new FormatException();
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            problems.Add($"Listen:UnixSocketMode: '{listen.UnixSocketMode}' is not an octal file mode such as 0660");
        }
        if (listen.EffectiveUnixSocket is { } socket && !Path.IsPathFullyQualified(socket))
        {
            problems.Add($"Listen:UnixSocket: '{socket}' is not an absolute path");
        }
        if (listen.EffectiveShmSocket is { } shm)
        {
            if (!Path.IsPathFullyQualified(shm))
            {
                problems.Add($"Listen:ShmSocket: '{shm}' is not an absolute path");
            }
            else if (System.Text.Encoding.UTF8.GetByteCount(shm) >= RtUdp.Core.Net.UnixSeqPacket.MaxPathBytes)
            {
                problems.Add($"Listen:ShmSocket: '{shm}' is longer than a unix socket address holds ({RtUdp.Core.Net.UnixSeqPacket.MaxPathBytes - 1} bytes)");
            }
            else if (shm == listen.EffectiveUnixSocket)
            {
                problems.Add($"Listen:ShmSocket: '{shm}' is the gRPC socket (Listen:UnixSocket) too");
            }
        }
        if (listen.Tcp.Length > 0)
        {
            if (!TryParseEndPoint(listen.Tcp, out IPEndPoint? endpoint))
            {
                problems.Add($"Listen:Tcp: '{listen.Tcp}' is not a valid endpoint (address:port, e.g. 127.0.0.1:50051 or [::1]:50051; empty disables TCP)");
            }
            else
            {
                listen.TcpEndPoint = endpoint;
                if (!IPAddress.IsLoopback(endpoint.Address) && !listen.Tls.Enabled && !listen.AllowNonLoopbackWithoutTls)
                {
                    problems.Add($"Listen:Tcp: '{listen.Tcp}' is not a loopback address and Listen:Tls is not configured: refusing to expose the control plane in plaintext"
                        + " (set Listen:Tls:CertificatePath, or Listen:AllowNonLoopbackWithoutTls=true to accept the risk)");
                }
            }
        }
        if (listen.EffectiveUnixSocket is null && listen.TcpEndPoint is null && listen.Tcp.Length == 0)
        {
            problems.Add("Listen: both Listen:UnixSocket and Listen:Tcp are disabled: the daemon would be unreachable");
        }
        TlsOptions tls = listen.Tls;
        if (tls.Enabled)
        {
            if (listen.Tcp.Length == 0)
            {
                problems.Add("Listen:Tls:CertificatePath: TLS is configured but Listen:Tcp is empty (TLS applies to the TCP listener)");
            }
            try
            {
                using X509Certificate2 certificate = LoadCertificate(tls);
                if (!certificate.HasPrivateKey)
                {
                    problems.Add($"Listen:Tls:KeyPath: no private key for '{tls.CertificatePath}'");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                problems.Add($"Listen:Tls:CertificatePath: cannot load '{tls.CertificatePath}'{(tls.KeyPath.Length > 0 ? $" with key '{tls.KeyPath}'" : "")}: {e.Message}");
            }
        }
        else if (tls.KeyPath.Length > 0 || tls.ClientCertificateAuthorityPath.Length > 0 || tls.RequireClientCertificate)
        {
            problems.Add("Listen:Tls:CertificatePath: a key, client CA or client certificate requirement is configured but no certificate");
        }
        if (tls.RequireClientCertificate && tls.ClientCertificateAuthorityPath.Length == 0)
        {
            problems.Add("Listen:Tls:RequireClientCertificate: needs Listen:Tls:ClientCertificateAuthorityPath (the CA client certificates must chain to)");
        }
        if (tls.ClientCertificateAuthorityPath.Length > 0)
        {
            try
            {
                if (LoadAuthorities(tls).Count == 0)
                {
                    problems.Add($"Listen:Tls:ClientCertificateAuthorityPath: '{tls.ClientCertificateAuthorityPath}' holds no PEM certificate");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                problems.Add($"Listen:Tls:ClientCertificateAuthorityPath: cannot load '{tls.ClientCertificateAuthorityPath}': {e.Message}");
            }
        }
    }

    internal static X509Certificate2 LoadCertificate(TlsOptions tls) =>
        X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath.Length > 0 ? tls.KeyPath : null);

    internal static X509Certificate2Collection LoadAuthorities(TlsOptions tls)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(tls.ClientCertificateAuthorityPath);
        return collection;
    }

    /// <summary>"address:port" (IPv6 in brackets) or "localhost:port"; port 0 lets the kernel choose.</summary>
    public static bool TryParseEndPoint(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        string value = text.Trim();
        if (value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            value = "127.0.0.1" + value["localhost".Length..];
        }
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || (value.Contains(':', StringComparison.Ordinal) && value.IndexOf(':', StringComparison.Ordinal) != colon && !value.StartsWith('[')))
        {
            return false;
        }
        string host = value[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out IPAddress? address)
            || !int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            || port > IPEndPoint.MaxPort)
        {
            return false;
        }
        endpoint = new IPEndPoint(address, port);
        return true;
    }

    private static void ValidateEngine(EngineSupervisorOptions engine, List<string> problems)
    {
        if (engine.Directory.Length > 0 && !Path.IsPathFullyQualified(engine.Directory))
        {
            problems.Add($"Engine:Directory: '{engine.Directory}' is not an absolute path");
        }
        if (engine.Path.Length > 0 && !File.Exists(engine.Path))
        {
            problems.Add($"Engine:Path: '{engine.Path}' does not exist");
        }
        if (engine.HousekeepingCpus.Length > 0)
        {
            try
            {
                engine.HousekeepingCpuList = Core.Capabilities.HostCpus.Parse(engine.HousekeepingCpus);
            }
            catch (FormatException e)
            {
                problems.Add($"Engine:HousekeepingCpus: {e.Message}");
            }
        }
        if (engine.DrainWindow < TimeSpan.Zero || engine.DrainWindow > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Engine:DrainWindow: {engine.DrainWindow} must be 0 to 5 minutes");
        }
        if (engine.StopTimeout <= TimeSpan.Zero || engine.StopTimeout > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Engine:StopTimeout: {engine.StopTimeout} must be more than 0 and at most 5 minutes");
        }
        if (engine.StartTimeout <= TimeSpan.Zero || engine.StartTimeout > TimeSpan.FromMinutes(5))
        {
            problems.Add($"Engine:StartTimeout: {engine.StartTimeout} must be more than 0 and at most 5 minutes");
        }
        if (engine.MaxRestartDelay < TimeSpan.FromMilliseconds(10) || engine.MaxRestartDelay > TimeSpan.FromHours(1))
        {
            problems.Add($"Engine:MaxRestartDelay: {engine.MaxRestartDelay} must be 10 ms to 1 hour");
        }
        if (engine.StallTimeout < TimeSpan.Zero || (engine.StallTimeout > TimeSpan.Zero && engine.StallTimeout < TimeSpan.FromMilliseconds(300)) || engine.StallTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"Engine:StallTimeout: {engine.StallTimeout} must be 0 (derived) or 300 ms to 1 hour (the workers beat every 100 ms)");
        }
        if (engine.StallRestartTimeout < TimeSpan.Zero || engine.StallRestartTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"Engine:StallRestartTimeout: {engine.StallRestartTimeout} must be 0 (derived) to 1 hour");
        }
        else if (engine.StallRestartTimeout > TimeSpan.Zero && engine.StallRestartTimeout <= engine.StallTimeout)
        {
            problems.Add($"Engine:StallRestartTimeout: {engine.StallRestartTimeout} must be longer than Engine:StallTimeout ({engine.StallTimeout})");
        }
    }

    private static void ValidateLog(LogOptions log, List<string> problems)
    {
        if (log.Format is not ("text" or "json"))
        {
            problems.Add($"Log:Format: '{log.Format}' must be text or json");
        }
        if (log.SyslogPrefix is not ("auto" or "true" or "false"))
        {
            problems.Add($"Log:SyslogPrefix: '{log.SyslogPrefix}' must be auto, true or false");
        }
        if (!Enum.TryParse<Serilog.Events.LogEventLevel>(log.Level, ignoreCase: true, out _) || int.TryParse(log.Level, out _))
        {
            problems.Add($"Log:Level: '{log.Level}' must be Verbose, Debug, Information, Warning, Error or Fatal");
        }
    }
}
