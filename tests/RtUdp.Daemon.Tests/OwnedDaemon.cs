using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Api;

namespace RtUdp.Daemon.Tests;

/// <summary>
/// A real rtudpd of the test's own (<see cref="DaemonFixture"/>, not shared with other tests), so the test may
/// kill its engine, overload it or give it extra configuration by environment.
/// </summary>
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

    /// <summary>The API over the unix socket (client "uid:0" for the limits); its gRPC channel is <c>Fixture.Unix</c>.</summary>
    public Clients Unix { get; }

    /// <summary>The API over TCP 127.0.0.1 (client "ip:127.0.0.1"); its gRPC channel is <c>Fixture.Tcp</c>.</summary>
    public Clients Tcp { get; }

    public string Log => Fixture.Log;

    /// <summary>Starts rtudpd and waits until it serves (and its engine runs, unless <paramref name="withEngine"/> is false).</summary>
    /// <param name="configuration">Keys as "Limits:PerClientPacketsPerSecond" (set through RTUDP_ variables).</param>
    /// <param name="withEngine">False: the engine never starts (see <see cref="DaemonFixture.Create"/>).</param>
    /// <param name="wrapper">A command that execs rtudpd, e.g. "taskset -c 0" (see <see cref="Hosting.HostedDaemon.Start"/>).</param>
    public static async Task<OwnedDaemon> StartAsync(IReadOnlyDictionary<string, string>? configuration = null, bool withEngine = true, IReadOnlyList<string>? wrapper = null)
    {
        var environment = (configuration ?? new Dictionary<string, string>()).ToDictionary(kv => "RTUDP_" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => (string?)kv.Value);
        DaemonFixture fixture = DaemonFixture.Create(withEngine, environment, wrapper);
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
