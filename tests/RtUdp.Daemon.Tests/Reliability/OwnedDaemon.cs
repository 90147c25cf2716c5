using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Api;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>A real rtudpd of the test's own (<see cref="DaemonFixture"/>), with extra configuration by environment.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OwnedDaemon : IAsyncDisposable
{
    private OwnedDaemon(DaemonFixture fixture)
    {
        Fixture = fixture;
        Unix = new Clients(fixture.Unix);
        Tcp = new Clients(fixture.Tcp);
    }

    public DaemonFixture Fixture { get; }

    /// <summary>The API over the unix socket (client "uid:0" for the limits).</summary>
    public Clients Unix { get; }

    /// <summary>The API over TCP 127.0.0.1 (client "ip:127.0.0.1").</summary>
    public Clients Tcp { get; }

    public string Log => Fixture.Log;

    /// <param name="configuration">Keys as "Limits:PerClientPacketsPerSecond" (set through RTUDP_ variables).</param>
    public static async Task<OwnedDaemon> StartAsync(IReadOnlyDictionary<string, string>? configuration = null)
    {
        var environment = (configuration ?? new Dictionary<string, string>()).ToDictionary(kv => "RTUDP_" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => (string?)kv.Value);
        DaemonFixture fixture = DaemonFixture.Create(withEngine: true, environment);
        try
        {
            await fixture.InitializeAsync();
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
        return new OwnedDaemon(fixture);
    }

    /// <summary>A new gRPC channel over the unix socket (another HTTP/2 connection).</summary>
    public GrpcChannel NewUnixChannel() => DaemonFixture.CreateUnixChannel(Fixture.SocketPath);

    public async ValueTask DisposeAsync() => await Fixture.DisposeAsync();
}
