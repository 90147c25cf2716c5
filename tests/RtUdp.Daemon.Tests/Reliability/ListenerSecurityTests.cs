using System.Globalization;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Hosting;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Who may reach the control plane: TCP with TLS (client certificates required or optional) refuses a
/// client without a certificate of the configured CA and accepts one with it; a non-loopback TCP address
/// needs TLS (0.0.0.0 without it is refused at start, with it served); the unix socket is 0660 and given
/// the configured group. Each test runs rtudpd of its own without an engine (the calls used need none).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ListenerSecurityTests : IDisposable
{
    private readonly TestCertificates _certificates = new();

    [Fact]
    public async Task Tls_with_required_client_certificates_accepts_only_clients_with_a_certificate_of_the_configured_CA()
    {
        using HostedDaemon daemon = StartTls("127.0.0.1:0", require: true);
        Uri address = TlsAddress(daemon, "TLS, client certificate required");

        Assert.NotEqual(0, await GetClockAsync(address, _certificates.Client));
        await AssertRefusedAsync(() => GetClockAsync(address, clientCertificate: null));
        await AssertRefusedAsync(() => GetClockAsync(address, _certificates.RogueClient));
        // Plaintext HTTP/2 to the TLS port is refused too.
        using var plaintext = GrpcChannel.ForAddress(new UriBuilder(address) { Scheme = "http" }.Uri);
        await AssertRefusedAsync(() => new ClockService.ClockServiceClient(plaintext).GetClockAsync(new GetClockRequest(), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.False(daemon.HasExited);
    }

    [Fact]
    public async Task Tls_with_optional_client_certificates_accepts_clients_without_one_but_refuses_a_certificate_of_another_CA()
    {
        using HostedDaemon daemon = StartTls("127.0.0.1:0", require: false);
        Uri address = TlsAddress(daemon, "TLS, client certificate optional");
        Assert.NotEqual(0, await GetClockAsync(address, clientCertificate: null));
        Assert.NotEqual(0, await GetClockAsync(address, _certificates.Client));
        await AssertRefusedAsync(() => GetClockAsync(address, _certificates.RogueClient));
    }

    [Fact]
    public async Task A_non_loopback_address_is_served_with_TLS_and_refused_without_it()
    {
        // Without TLS: rtudpd refuses to start (exit 2, the key named).
        using (HostedDaemon plain = HostedDaemon.Start("""{ "Listen": { "UnixSocket": "$ROOT/rtudp.sock", "Tcp": "0.0.0.0:0" } }""", environment: NoEngine(), watchdog: false))
        {
            Assert.Equal(2, plain.WaitForExit(TimeSpan.FromSeconds(30)));
            Assert.Contains("is not a loopback address and Listen:Tls is not configured", plain.Errors, StringComparison.Ordinal);
        }

        // With TLS on every address (0.0.0.0): served, and reached here over loopback.
        using HostedDaemon daemon = StartTls("0.0.0.0:0", require: true);
        string line = daemon.WaitForOutput(l => TlsListening().IsMatch(l), HostedDaemon.StartTimeout, "the TLS listener");
        int port = int.Parse(TlsListening().Match(line).Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Contains("https://0.0.0.0:", line, StringComparison.Ordinal);
        Assert.NotEqual(0, await GetClockAsync(new Uri($"https://127.0.0.1:{port}"), _certificates.Client));
        await AssertRefusedAsync(() => GetClockAsync(new Uri($"https://127.0.0.1:{port}"), clientCertificate: null));
    }

    [Fact]
    public void The_unix_socket_is_0660_and_belongs_to_the_configured_group()
    {
        using HostedDaemon daemon = HostedDaemon.Start("""{ "Listen": { "UnixSocket": "$ROOT/rtudp.sock", "UnixSocketGroup": "nogroup", "Tcp": "" } }""", environment: NoEngine(), watchdog: false);
        string socket = Path.Combine(daemon.Root, "rtudp.sock");
        daemon.WaitForOutput(l => l.Contains("Listening on unix socket", StringComparison.Ordinal), HostedDaemon.StartTimeout, "the unix socket listener");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(socket));
        Assert.Equal(RtUdp.Daemon.Hosting.Listeners.GroupId("nogroup"), StatGroup(socket));
        Assert.Contains("(mode 0660, group nogroup)", daemon.Output, StringComparison.Ordinal);

        // The default group, rtudp, is used when it exists (the package creates it); otherwise the daemon's own group stays.
        using HostedDaemon defaults = HostedDaemon.Start("""{ "Listen": { "UnixSocket": "$ROOT/rtudp.sock", "Tcp": "" } }""", environment: NoEngine(), watchdog: false);
        string defaultSocket = Path.Combine(defaults.Root, "rtudp.sock");
        defaults.WaitForOutput(l => l.Contains("Listening on unix socket", StringComparison.Ordinal), HostedDaemon.StartTimeout, "the unix socket listener");
        uint? rtudp = RtUdp.Daemon.Hosting.Listeners.GroupId("rtudp");
        Assert.Equal(rtudp ?? Tmds.Linux.LibC.getegid(), StatGroup(defaultSocket));
    }

    private HostedDaemon StartTls(string tcp, bool require)
    {
        string config = $$"""
            {
              "Listen": {
                "UnixSocket": "$ROOT/rtudp.sock",
                "Tcp": "{{tcp}}",
                "Tls": {
                  "CertificatePath": "{{_certificates.ServerCertificatePath}}",
                  "KeyPath": "{{_certificates.ServerKeyPath}}",
                  "ClientCertificateAuthorityPath": "{{_certificates.AuthorityPath}}",
                  "RequireClientCertificate": {{(require ? "true" : "false")}}
                }
              }
            }
            """;
        return HostedDaemon.Start(config, environment: NoEngine(), watchdog: false);
    }

    private static Uri TlsAddress(HostedDaemon daemon, string security)
    {
        string line = daemon.WaitForOutput(l => TlsListening().IsMatch(l), HostedDaemon.StartTimeout, "the TLS listener");
        Assert.Contains($"({security})", line, StringComparison.Ordinal);
        return new Uri(TlsListening().Match(line).Groups[1].Value);
    }

    private async Task<long> GetClockAsync(Uri address, System.Security.Cryptography.X509Certificates.X509Certificate2? clientCertificate)
    {
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = _certificates.Handler(clientCertificate), DisposeHttpClient = true });
        return (await new ClockService.ClockServiceClient(channel).GetClockAsync(new GetClockRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).MonotonicNs;
    }

    /// <summary>The TLS handshake (or the HTTP/2 preface) fails: the call never reaches a service.</summary>
    private static async Task AssertRefusedAsync(Func<Task> call)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"expected the connection to be refused, got {e.StatusCode}: {e.Status.Detail}");
    }

    private static Dictionary<string, string?> NoEngine()
    {
        // The engine is not needed: a path that exists but cannot be executed keeps it from starting.
        string notExecutable = Path.Combine(Path.GetTempPath(), $"rel-not-an-engine-{Environment.ProcessId}");
        File.WriteAllText(notExecutable, "not an engine\n");
        return new Dictionary<string, string?> { ["RTUDP_Engine__Path"] = notExecutable };
    }

    private static uint StatGroup(string path) => uint.Parse(Tool.Run("stat", "-c", "%g", path).Trim(), CultureInfo.InvariantCulture);

    public void Dispose() => _certificates.Dispose();

    [GeneratedRegex(@"Listening on (https://[0-9.]+:(\d+)) \(TLS")]
    private static partial Regex TlsListening();
}
