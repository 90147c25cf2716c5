using Microsoft.Extensions.Configuration;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>The Http section is checked like the others: a bad value names its key.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HttpSettingsTests
{
    private static (DaemonSettings Settings, IReadOnlyList<string> Problems) Load(params (string Key, string Value)[] values) =>
        DaemonSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    [Fact]
    public void Defaults_to_loopback_9464_with_the_JSON_API()
    {
        (DaemonSettings settings, IReadOnlyList<string> problems) = Load();
        Assert.Empty(problems);
        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9464), settings.Http.EndPoint);
        Assert.True(settings.Http.JsonApi);
    }

    [Fact]
    public void Empty_disables_it()
    {
        (DaemonSettings settings, IReadOnlyList<string> problems) = Load(("Http:Listen", ""));
        Assert.Empty(problems);
        Assert.Null(settings.Http.EndPoint);
    }

    [Theory]
    [InlineData("Http:Listen", "nonsense", "Http:Listen: 'nonsense' is not a valid endpoint")]
    [InlineData("Http:Listen", "127.0.0.1:70000", "Http:Listen: '127.0.0.1:70000' is not a valid endpoint")]
    [InlineData("Http:Listen", "127.0.0.1:50051", "Http:Listen: '127.0.0.1:50051' is the gRPC listener's port")]
    [InlineData("Http:JsonApi", "maybe", "Http:JsonApi: 'maybe' is not true or false")]
    public void A_bad_value_names_its_key(string key, string value, string problem)
    {
        (_, IReadOnlyList<string> problems) = Load((key, value));
        Assert.Contains(problems, p => p.StartsWith(problem, StringComparison.Ordinal));
    }
}
