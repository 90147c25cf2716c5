using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RtUdp.Daemon.Tests.Api;

namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>
/// rtudpctl offers what the API serves: the flow histograms (one-way, jitter, round-trip), the burst, Poisson and
/// replay schedules and a generator's rate change, each through the built rtudpctl against the real daemon.
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RtudpctlCoverageTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private async Task<CtlProcess.Result> Ctl(params string[] args)
    {
        CtlProcess.Result result = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, [.. args, "--socket", daemon.SocketPath]);
        log.WriteLine($"$ rtudpctl {string.Join(' ', args)}\n{result}");
        return result;
    }

    private async Task<JsonElement> OkJson(params string[] args)
    {
        CtlProcess.Result result = await Ctl([.. args, "--json"]);
        Assert.True(result.Exit == 0, $"rtudpctl {string.Join(' ', args)}: {result}\n--- daemon ---\n{daemon.Log}");
        return JsonDocument.Parse(result.Stdout).RootElement;
    }

    private static long Int64(JsonElement value) => value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetInt64();

    private async Task<JsonElement> WaitJsonAsync(string[] args, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonElement value = await OkJson(args);
            if (condition(value))
            {
                return value;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"rtudpctl {string.Join(' ', args)} never met the condition: {value}");
            await Task.Delay(20);
        }
    }

    private static string Port(JsonElement channel) => channel.GetProperty("boundLocal").GetProperty("port").GetInt32().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Hist_shows_the_one_way_and_jitter_histograms_of_a_sequenced_flow()
    {
        const int Count = 300;
        string rx = Clients.UniqueId("cov-rx"), tx = Clients.UniqueId("cov-tx");
        JsonElement receiver = await OkJson("channels", "create", rx, "--direction", "receive", "--local", "127.0.0.1:0", "--sequenced", "--priority", "0");
        await OkJson("channels", "create", tx, "--direction", "send", "--remote", "127.0.0.1:" + Port(receiver), "--sequenced", "--flow-id", "3", "--priority", "0");
        await OkJson("gen", "start", tx, "--period", "500us", "--count", Count.ToString(CultureInfo.InvariantCulture));
        await WaitJsonAsync(["stats", rx], s => Int64(s.GetProperty("flowTotals").GetProperty("packets")) >= Count);

        JsonElement oneWay = await OkJson("hist", rx, "--kind", "one-way");
        Assert.Equal("HISTOGRAM_KIND_ONE_WAY", oneWay.GetProperty("kind").GetString());
        Assert.Equal(Count, Int64(oneWay.GetProperty("totalCount")));
        JsonElement jitter = await OkJson("hist", rx, "--kind", "jitter");
        Assert.Equal("HISTOGRAM_KIND_JITTER", jitter.GetProperty("kind").GetString());
        Assert.True(Int64(jitter.GetProperty("totalCount")) > 0, jitter.ToString());

        CtlProcess.Result text = await Ctl("hist", rx, "--kind", "one-way");
        Assert.Equal(0, text.Exit);
        Assert.Contains(Count.ToString(CultureInfo.InvariantCulture), text.Stdout, StringComparison.Ordinal);
        Assert.Contains("one-way", (await Ctl("hist", "--help")).Stdout, StringComparison.Ordinal);
        await Ctl("channels", "rm", tx);
        await Ctl("channels", "rm", rx);
    }

    [Fact]
    public async Task Hist_shows_the_round_trip_of_a_sequenced_duplex_channel_facing_a_reflector()
    {
        const int Count = 100;
        string refl = Clients.UniqueId("cov-refl"), rt = Clients.UniqueId("cov-rt");
        JsonElement reflector = await OkJson("channels", "create", refl, "--direction", "receive", "--local", "127.0.0.1:0", "--reflect", "--priority", "0");
        await OkJson("channels", "create", rt, "--direction", "duplex", "--local", "127.0.0.1:0", "--remote", "127.0.0.1:" + Port(reflector), "--sequenced", "--priority", "0");
        await OkJson("gen", "start", rt, "--period", "1ms", "--count", Count.ToString(CultureInfo.InvariantCulture));
        JsonElement roundTrip = await WaitJsonAsync(["hist", rt, "--kind", "round-trip"], h => Int64(h.GetProperty("totalCount")) >= Count);
        Assert.Equal("HISTOGRAM_KIND_ROUND_TRIP", roundTrip.GetProperty("kind").GetString());
        Assert.Equal(Count, Int64(roundTrip.GetProperty("totalCount")));
        await Ctl("channels", "rm", rt);
        await Ctl("channels", "rm", refl);
    }

    [Fact]
    public async Task Gen_start_runs_burst_and_poisson_schedules_and_gen_rate_changes_a_period()
    {
        string rx = Clients.UniqueId("sch-rx"), tx = Clients.UniqueId("sch-tx");
        JsonElement receiver = await OkJson("channels", "create", rx, "--direction", "receive", "--local", "127.0.0.1:0", "--priority", "0");
        await OkJson("channels", "create", tx, "--direction", "send", "--remote", "127.0.0.1:" + Port(receiver), "--priority", "0");

        JsonElement burst = await OkJson("gen", "start", tx, "--burst", "5", "--gap", "10us", "--burst-period", "5ms", "--count", "20", "--id", "b1");
        JsonElement burstSpec = burst.GetProperty("spec").GetProperty("burst");
        Assert.Equal(5, burstSpec.GetProperty("burstSize").GetInt32());
        Assert.Equal("0.005s", burstSpec.GetProperty("burstPeriod").GetString());
        await WaitJsonAsync(["gen", "ls", tx], g => g.GetProperty("generators").EnumerateArray().Any(x => x.GetProperty("name").GetString()!.EndsWith("/b1", StringComparison.Ordinal)
            && x.GetProperty("state").GetString() == "GENERATOR_STATE_COMPLETED" && Int64(x.GetProperty("counters").GetProperty("enqueued")) == 20));

        JsonElement poisson = await OkJson("gen", "start", tx, "--poisson", "2000", "--seed", "7", "--count", "50", "--id", "p1");
        Assert.Equal(2000, poisson.GetProperty("spec").GetProperty("poisson").GetProperty("meanRate").GetDouble());
        await WaitJsonAsync(["gen", "ls", tx], g => g.GetProperty("generators").EnumerateArray().Any(x => x.GetProperty("name").GetString()!.EndsWith("/p1", StringComparison.Ordinal)
            && x.GetProperty("state").GetString() == "GENERATOR_STATE_COMPLETED" && Int64(x.GetProperty("counters").GetProperty("enqueued")) == 50));

        // A slow periodic generator made fast: the answer names the packet the new period starts at.
        string name = (await OkJson("gen", "start", tx, "--period", "200ms", "--id", "r1")).GetProperty("name").GetString()!;
        JsonElement updated = await OkJson("gen", "rate", name, "--period", "1ms");
        Assert.True(Int64(updated.GetProperty("firstDueMonotonicNs")) > 0, updated.ToString());
        // At 1 ms it passes 300 packets within the wait's 20 s; at 200 ms that would take a minute.
        await WaitJsonAsync(["gen", "ls", tx], g => g.GetProperty("generators").EnumerateArray().Any(x => x.GetProperty("name").GetString() == name
            && Int64(x.GetProperty("counters").GetProperty("generated")) >= 300));
        CtlProcess.Result text = await Ctl("gen", "rate", name, "--period", "2ms");
        Assert.Matches(@"new rate from packet \d+, due at \d+ ns", text.Stdout);
        await OkJson("gen", "stop", name);

        // A rate for the wrong schedule, and a replay of a file that is not there, are the daemon's refusals (exit 1).
        string p2 = (await OkJson("gen", "start", tx, "--poisson", "10", "--id", "p2")).GetProperty("name").GetString()!;
        Assert.Equal(1, (await Ctl("gen", "rate", p2, "--period", "1ms")).Exit);
        await OkJson("gen", "stop", p2);
        CtlProcess.Result replay = await Ctl("gen", "start", tx, "--replay", "no-such-file.pcapng");
        Assert.Equal(1, replay.Exit);
        Assert.Contains("no-such-file.pcapng", replay.Stderr + replay.Stdout, StringComparison.Ordinal);

        // Usage errors: exit 2, no call.
        Assert.Equal(2, (await Ctl("gen", "start", tx, "--period", "1ms", "--poisson", "5")).Exit);
        Assert.Equal(2, (await Ctl("gen", "start", tx, "--burst", "5")).Exit);
        Assert.Contains("Not offered here (GeneratorService.StartGenerator has them)", (await Ctl("gen", "start", "--help")).Stdout, StringComparison.Ordinal);
        await Ctl("channels", "rm", tx);
        await Ctl("channels", "rm", rx);
    }
}
