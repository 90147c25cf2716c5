using Microsoft.Extensions.Configuration;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>The stall ladder's bounds: derived from systemd's watchdog or set, and checked at start.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StallBoundsTests
{
    private static EngineSupervisorOptions Options(string stall = "", string restart = "")
    {
        var values = new Dictionary<string, string?>();
        if (stall.Length > 0)
        {
            values["Engine:StallTimeout"] = stall;
        }
        if (restart.Length > 0)
        {
            values["Engine:StallRestartTimeout"] = restart;
        }
        (DaemonSettings settings, IReadOnlyList<string> problems) = DaemonSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        Assert.Empty(problems);
        return settings.Engine;
    }

    [Fact]
    public void Without_a_watchdog_health_after_2_s_and_the_restart_after_5_s()
    {
        StallBounds bounds = StallBounds.Resolve(Options(), watchdogTimeout: null);
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), (TimeSpan?)null), (bounds.Health, bounds.Restart, bounds.Watchdog));
    }

    [Fact]
    public void The_units_10_s_watchdog_gives_2_5_s_5_s_and_gives_up_at_10_s()
    {
        StallBounds bounds = StallBounds.Resolve(Options(), TimeSpan.FromSeconds(10));
        Assert.Equal((TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(5), (TimeSpan?)TimeSpan.FromSeconds(10)), (bounds.Health, bounds.Restart, bounds.Watchdog));
        Assert.Null(bounds.WatchdogConflict(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_short_watchdog_keeps_the_health_bound_at_five_missed_beats()
    {
        StallBounds bounds = StallBounds.Resolve(Options(), TimeSpan.FromSeconds(1));
        Assert.Equal((TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)), (bounds.Health, bounds.Restart));
    }

    [Fact]
    public void Set_bounds_win_and_a_restart_bound_alone_pulls_the_health_bound_below_it()
    {
        StallBounds set = StallBounds.Resolve(Options("1s", "3s"), TimeSpan.FromSeconds(10));
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), (TimeSpan?)TimeSpan.FromSeconds(8)), (set.Health, set.Restart, set.Watchdog));
        StallBounds restartOnly = StallBounds.Resolve(Options(restart: "1s"), null);
        Assert.Equal((TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1)), (restartOnly.Health, restartOnly.Restart));
        StallBounds healthOnly = StallBounds.Resolve(Options(stall: "4s"), null);
        Assert.Equal((TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)), (healthOnly.Health, healthOnly.Restart));
    }

    [Fact]
    public void A_restart_bound_past_half_the_watchdog_is_warned_about()
    {
        StallBounds bounds = StallBounds.Resolve(Options(restart: "8s"), TimeSpan.FromSeconds(10));
        Assert.Contains("systemd may restart the whole service before rtudpd restarts the engine", bounds.WatchdogConflict(TimeSpan.FromSeconds(10)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Engine:StallTimeout", "100ms", "Engine:StallTimeout: 00:00:00.1000000 must be 0 (derived) or 300 ms to 1 hour")]
    [InlineData("Engine:StallTimeout", "soon", "Engine:StallTimeout: 'soon' is not a duration")]
    [InlineData("Engine:StallRestartTimeout", "01:30:00", "Engine:StallRestartTimeout: 01:30:00 must be 0 (derived) to 1 hour")]
    public void A_bad_bound_names_its_key(string key, string value, string problem)
    {
        (_, IReadOnlyList<string> problems) = DaemonSettings.Load(new ConfigurationBuilder().AddInMemoryCollection([new(key, value)]).Build());
        Assert.Contains(problems, p => p.StartsWith(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void A_restart_bound_not_longer_than_the_stall_bound_is_refused()
    {
        (_, IReadOnlyList<string> problems) = DaemonSettings.Load(new ConfigurationBuilder().AddInMemoryCollection([new("Engine:StallTimeout", "3s"), new("Engine:StallRestartTimeout", "2s")]).Build());
        Assert.Contains("Engine:StallRestartTimeout: 00:00:02 must be longer than Engine:StallTimeout (00:00:03)", problems);
    }
}
