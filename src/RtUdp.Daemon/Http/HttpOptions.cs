using System.Net;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Http;

/// <summary>
/// Configuration section "Http": the operators' plain HTTP/1.1 listener, serving Prometheus metrics at
/// /metrics and the read-only JSON API (/v1/...). It changes nothing, so it needs no TLS to be safe
/// from control; put it where only the scrapers can reach it.
/// </summary>
public sealed class HttpOptions
{
    public const string DefaultListen = "127.0.0.1:9464";

    /// <summary>address:port (port 0: the kernel's choice, logged); empty: no HTTP listener.</summary>
    public string Listen { get; set; } = DefaultListen;

    /// <summary>Serve the read-only calls as JSON (gRPC JSON transcoding) besides /metrics.</summary>
    public bool JsonApi { get; set; } = true;

    /// <summary>Parsed at validation; null when disabled.</summary>
    public IPEndPoint? EndPoint { get; internal set; }

    internal static void Validate(HttpOptions http, Hosting.ListenOptions listen, List<string> problems)
    {
        if (http.Listen.Length == 0)
        {
            return;
        }
        if (!DaemonSettings.TryParseEndPoint(http.Listen, out IPEndPoint endpoint))
        {
            problems.Add($"Http:Listen: '{http.Listen}' is not a valid endpoint (address:port, e.g. 127.0.0.1:9464 or [::]:9464; empty disables the metrics and JSON listener)");
            return;
        }
        http.EndPoint = endpoint;
        if (endpoint.Port != 0 && listen.TcpEndPoint is { } tcp && tcp.Port == endpoint.Port && (tcp.Address.Equals(endpoint.Address) || IsAny(tcp.Address) || IsAny(endpoint.Address)))
        {
            problems.Add($"Http:Listen: '{http.Listen}' is the gRPC listener's port (Listen:Tcp '{listen.Tcp}'): they need ports of their own");
        }
    }

    private static bool IsAny(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
}
