using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RtUdp.Daemon.Tests.Api;

namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>
/// rtudpctl, the built program, against the real daemon: every command's human output, its --json parsed,
/// and the exit codes (0 ok, 1 refused, 2 usage, 3 unreachable, 4 recv incomplete).
/// The pcap it writes is read back with tshark (apt-get install -y tshark).
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RtudpctlTests(DaemonFixture daemon, Xunit.Abstractions.ITestOutputHelper log)
{
    private const string Tshark = "/usr/bin/tshark";

    private async Task<CtlProcess.Result> Ctl(params string[] args) => await CtlOn(["--socket", daemon.SocketPath], args);

    private async Task<CtlProcess.Result> CtlOn(string[] target, string[] args, string? stdin = null)
    {
        CtlProcess.Result result = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, [.. args, .. target], stdin);
        log.WriteLine($"$ rtudpctl {string.Join(' ', args)}\n{result}");
        return result;
    }

    private async Task<CtlProcess.Result> Ok(params string[] args)
    {
        CtlProcess.Result result = await Ctl(args);
        Assert.True(result.Exit == 0, $"rtudpctl {string.Join(' ', args)}: {result}\n--- daemon ---\n{daemon.Log}");
        return result;
    }

    private static JsonElement Json(CtlProcess.Result result) => JsonDocument.Parse(result.Stdout).RootElement;

    /// <summary>The proto3 JSON mapping writes 64-bit integers as strings.</summary>
    private static long Int64(JsonElement value) => value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetInt64();

    [Fact]
    public async Task Channels_create_ls_start_stop_rm_in_tables_and_json()
    {
        string id = Clients.UniqueId("ctl-life");
        CtlProcess.Result created = await Ok("channels", "create", id, "--direction", "receive", "--local", "127.0.0.1:0", "--priority", "0",
            "--capacity", "1024", "--max-payload", "1500", "--timing", "sleep", "--no-start");
        Assert.Matches($@"(?m)^NAME\s+STATE\s+DIRECTION\s+LOCAL", created.Stdout);
        Assert.Matches($@"(?m)^{id}\s+created\s+receive\s+127\.0\.0\.1:[1-9]\d*\s", created.Stdout);

        JsonElement listed = Json(await Ok("channels", "ls", "--json"));
        JsonElement channel = listed.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "channels/" + id);
        Assert.Equal("CHANNEL_STATE_CREATED", channel.GetProperty("state").GetString());
        Assert.Equal(1024, channel.GetProperty("capacity").GetInt32());
        Assert.Equal(1500, channel.GetProperty("maxPayload").GetInt32());
        Assert.Equal("TIMING_STRATEGY_SLEEP", channel.GetProperty("timing").GetString());
        Assert.NotEqual(0, channel.GetProperty("boundLocal").GetProperty("port").GetInt32());

        Assert.Matches($@"(?m)^{id}\s+running\s", (await Ok("channels", "start", id)).Stdout);
        Assert.Equal("CHANNEL_STATE_STOPPED", Json(await Ok("channels", "stop", "channels/" + id, "--json")).GetProperty("state").GetString());
        Assert.Matches($@"(?m)^{id}\s+stopped\s", (await Ok("channels", "ls")).Stdout);

        JsonElement removed = Json(await Ok("channels", "rm", id, "--json"));
        Assert.Equal("channels/" + id, removed.GetProperty("name").GetString());
        Assert.True(removed.GetProperty("deleted").GetProperty("finalCounters").ValueKind == JsonValueKind.Object);
        Assert.DoesNotContain(Json(await Ok("channels", "ls", "--json")).GetProperty("channels").EnumerateArray(), c => c.GetProperty("name").GetString() == "channels/" + id);
    }

    [Fact]
    public async Task Channels_create_client_exit_drop_is_shown_and_in_the_json_and_drain_is_the_default()
    {
        string drop = Clients.UniqueId("ctl-exit-drop"), drain = Clients.UniqueId("ctl-exit-drain");
        CtlProcess.Result created = await Ok("channels", "create", drop, "--direction", "send", "--remote", "127.0.0.1:9", "--priority", "0", "--client-exit", "drop", "--no-start");
        Assert.Contains("client exit: drop", created.Stdout, StringComparison.Ordinal);
        Assert.Contains("client exit: drop", (await Ok("channels", "show", drop)).Stdout, StringComparison.Ordinal);
        Assert.Equal("CLIENT_EXIT_POLICY_DROP", Json(await Ok("channels", "show", drop, "--json")).GetProperty("clientExit").GetString());
        await Ok("channels", "create", drain, "--direction", "send", "--remote", "127.0.0.1:9", "--priority", "0", "--no-start");
        Assert.Contains("client exit: drain", (await Ok("channels", "show", drain)).Stdout, StringComparison.Ordinal);
        Assert.Equal("CLIENT_EXIT_POLICY_DRAIN", Json(await Ok("channels", "show", drain, "--json")).GetProperty("clientExit").GetString());
        CtlProcess.Result bad = await Ctl("channels", "create", Clients.UniqueId("ctl-exit-bad"), "--direction", "send", "--remote", "127.0.0.1:9", "--client-exit", "keep");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("'keep' is not one of drain, drop", bad.Stderr, StringComparison.Ordinal);
        await Ok("channels", "rm", drop);
        await Ok("channels", "rm", drain);
    }

    [Fact]
    public async Task Send_text_hex_file_stdin_and_a_paced_run_then_recv_prints_them_and_writes_a_pcap_tshark_reads()
    {
        RtUdp.Testing.Tool.RequireFile(Tshark, "tshark");
        (string rx, string tx, int rxPort) = await PairAsync("ctl-io");
        string work = Directory.CreateTempSubdirectory("rtudpctl-test-").FullName;
        try
        {
            string file = Path.Combine(work, "payload.bin");
            await File.WriteAllBytesAsync(file, [0x00, 0x01, 0xfe, 0xff]);
            Assert.Contains($"enqueued 1 packet(s) of 9 bytes on channels/{tx}", (await Ok("send", tx, "hello", "ctl")).Stdout, StringComparison.Ordinal);
            await Ok("send", tx, "--hex", "de ad be ef");
            await Ok("send", tx, "--file", file, "--delay", "1ms");
            CtlProcess.Result fromStdin = await CtlOn(["--socket", daemon.SocketPath], ["send", tx, "--stdin"], stdin: "from stdin\n");
            Assert.Equal(0, fromStdin.Exit);

            // 50 packets at 2000/s from 5 ms ahead: the engine spaces them 500 µs apart.
            JsonElement paced = Json(await Ok("send", tx, "tick", "--rate", "2000", "--count", "50", "--delay", "5ms", "--json"));
            Assert.Equal(50, paced.GetProperty("enqueued").GetInt64());
            Assert.Equal(49 * 500_000, paced.GetProperty("lastDueMonotonicNs").GetInt64() - paced.GetProperty("firstDueMonotonicNs").GetInt64());

            string pcap = Path.Combine(work, "rx.pcap");
            CtlProcess.Result received = await Ok("recv", rx, "--count", "54", "--timeout", "5s", "--pcap", pcap);
            string[] lines = received.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(54, lines.Length);
            Assert.Matches(@"^#1 seq 0 from 127\.0\.0\.1:\d+, 9 bytes, rx \d+ ns \(software\): hello ctl$", lines[0]);
            Assert.EndsWith(@": \xde\xad\xbe\xef", lines[1], StringComparison.Ordinal);
            Assert.EndsWith(@": \x00\x01\xfe\xff", lines[2], StringComparison.Ordinal);
            Assert.EndsWith(@": from stdin\n", lines[3], StringComparison.Ordinal);
            Assert.All(lines[4..], l => Assert.EndsWith(": tick", l, StringComparison.Ordinal));
            Assert.Contains($"54 packet(s) received on channels/{rx}, written to {pcap}", received.Stderr, StringComparison.Ordinal);

            CtlProcess.Result tshark = await CtlProcess.RunAsync(Tshark, ["-r", pcap, "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=,",
                "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "udp.dstport", "-e", "udp.checksum.status", "-e", "data.data"]);
            Assert.True(tshark.Exit == 0, tshark.ToString());
            string[] frames = tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(54, frames.Length);
            string[] first = frames[0].Split(',');
            Assert.Equal(["127.0.0.1", "127.0.0.1", rxPort.ToString(CultureInfo.InvariantCulture), "1", Convert.ToHexStringLower("hello ctl"u8)], first[1..]);
            Assert.Equal("deadbeef", frames[1].Split(',')[5]);
            // Nanosecond timestamps from the kernel's RX stamps: within a minute of now, and in order.
            decimal[] times = frames.Select(f => decimal.Parse(f.Split(',')[0], CultureInfo.InvariantCulture)).ToArray();
            Assert.InRange((double)times[0], DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
            Assert.Equal(times.Order(), times);
            Assert.Contains(frames[0].Split(',')[0].Split('.')[1].Length, new[] { 9 });

            // Nothing more came: --count 1 gives up after the timeout with exit code 4.
            CtlProcess.Result empty = await Ctl("recv", rx, "--count", "1", "--timeout", "200ms");
            Assert.Equal(4, empty.Exit);
            Assert.Contains("0 packet(s) received", empty.Stderr, StringComparison.Ordinal);

            // --hexdump and --json.
            await Ok("send", tx, "0123456789abcdefXYZ");
            CtlProcess.Result dump = await Ok("recv", rx, "--count", "1", "--timeout", "5s", "--hexdump");
            Assert.Contains("00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  |0123456789abcdef|", dump.Stdout, StringComparison.Ordinal);
            Assert.Contains("00000010  58 59 5a", dump.Stdout, StringComparison.Ordinal);
            await Ok("send", tx, "json");
            JsonElement packet = Json(await Ok("recv", rx, "--count", "1", "--timeout", "5s", "--json"));
            Assert.Equal("anNvbg==", packet.GetProperty("payload").GetString());
            Assert.Equal("STAMP_SOURCE_SOFTWARE", packet.GetProperty("stampSource").GetString());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            await Ctl("channels", "rm", tx);
            await Ctl("channels", "rm", rx);
        }
    }

    [Fact]
    public async Task Stats_and_hist_show_the_sends_with_percentiles_and_a_bar_chart()
    {
        (string rx, string tx, _) = await PairAsync("ctl-stats");
        try
        {
            await Ok("send", tx, "x", "--rate", "5000", "--count", "20");
            JsonElement stats = await WaitJsonAsync(["stats", tx, "--json"], s => Int64(s.GetProperty("tx").GetProperty("sent")) == 20);
            Assert.Equal(20, Int64(stats.GetProperty("tx").GetProperty("enqueued")));
            Assert.True(stats.GetProperty("tx").GetProperty("balanced").GetBoolean());
            Assert.Equal(20, Int64(stats.GetProperty("counters").GetProperty("sent")));

            CtlProcess.Result text = await Ok("stats", tx);
            Assert.Matches(@"(?m)^tx\s+20\s+20\s+0\s+0\s", text.Stdout);
            Assert.Matches(@"(?m)^sender\s+running\s", text.Stdout);
            Assert.Matches(@"(?m)^sent\s+20$", text.Stdout);

            CtlProcess.Result hist = await Ok("hist", tx, "--percentiles", "50,99,99.9");
            Assert.Contains($"send-error of channels/{tx}: 20 samples", hist.Stdout, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^p50\s+\S+ \S+\s+\d+$", hist.Stdout);
            Assert.Matches(@"(?m)^p99\.9\s+\S+ \S+\s+\d+$", hist.Stdout);
            string[] bars = hist.Stdout.Split('\n').Where(l => l.Contains('|', StringComparison.Ordinal)).ToArray();
            Assert.NotEmpty(bars);
            Assert.Equal(20, bars.Sum(b => long.Parse(b[(b.LastIndexOf('|') + 2)..], CultureInfo.InvariantCulture)));
            Assert.Contains(bars, b => b.Contains(new string('#', 40), StringComparison.Ordinal));

            JsonElement histogram = Json(await Ok("hist", tx, "--kind", "send-error", "--percentiles", "50,100", "--json"));
            Assert.Equal("20", histogram.GetProperty("totalCount").GetString());
            Assert.Equal(2, histogram.GetProperty("percentiles").GetArrayLength());
            Assert.Equal(histogram.GetProperty("maxNs").GetString(), histogram.GetProperty("percentiles")[1].GetProperty("valueNs").GetString());

            JsonElement delivery = Json(await Ok("hist", rx, "--kind", "delivery", "--json"));
            Assert.Equal("HISTOGRAM_KIND_DELIVERY", delivery.GetProperty("kind").GetString());
        }
        finally
        {
            await Ctl("channels", "rm", tx);
            await Ctl("channels", "rm", rx);
        }
    }

    [Fact]
    public async Task Watch_prints_plain_refreshes_when_not_a_terminal_and_json_lines()
    {
        (string rx, string tx, _) = await PairAsync("ctl-watch");
        try
        {
            await Ok("send", tx, "w", "--count", "3");
            CtlProcess.Result watch = await Ok("watch", "--interval", "100ms", "--count", "3");
            string[] stamps = watch.Stdout.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\d{4}-\d\d-\d\dT")).ToArray();
            Assert.Equal(3, stamps.Length);
            Assert.DoesNotContain("\x1b[", watch.Stdout, StringComparison.Ordinal);
            Assert.Matches($@"(?m)^{tx}\s+running\s", watch.Stdout);
            Assert.Matches($@"(?m)^{rx}\s+running\s", watch.Stdout);

            CtlProcess.Result json = await Ok("watch", tx, "--interval", "50ms", "--count", "2", "--json");
            string[] lines = json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.Equal("channels/" + tx, JsonDocument.Parse(l).RootElement.GetProperty("channel").GetString()));
        }
        finally
        {
            await Ctl("channels", "rm", tx);
            await Ctl("channels", "rm", rx);
        }
    }

    [Fact]
    public async Task Caps_health_and_clock_over_the_unix_socket_and_tcp()
    {
        CtlProcess.Result caps = await Ok("caps");
        Assert.Matches(@"(?m)^kernel\s+\S+", caps.Stdout);
        Assert.Matches(@"(?m)^lo\s+\S+\s+software\s", caps.Stdout);
        JsonElement capsJson = Json(await Ok("caps", "--json"));
        Assert.True(capsJson.GetProperty("host").GetProperty("cpuCount").GetInt32() > 0);
        Assert.Contains(capsJson.GetProperty("interfaces").EnumerateArray(), i => i.GetProperty("name").GetString() == "lo");

        CtlProcess.Result health = await Ok("health");
        Assert.Equal($"{daemon.SocketPath}: SERVING", health.Stdout.Trim());
        Assert.Equal("SERVING", Json(await Ok("health", "--json")).GetProperty("status").GetString());
        CtlProcess.Result unknown = await Ctl("health", "--service", "no.such.Service", "--json");
        Assert.Equal(1, unknown.Exit);
        Assert.Equal("SERVICE_UNKNOWN", Json(unknown).GetProperty("status").GetString());
        Assert.Equal(0, (await Ctl("health", "--service", "rtudp.v1.PacketService")).Exit);

        CtlProcess.Result tcp = await CtlOn(["--address", daemon.TcpAddress.ToString()], ["health"]);
        Assert.Equal(0, tcp.Exit);
        Assert.Contains("SERVING", tcp.Stdout, StringComparison.Ordinal);

        long before = RtUdp.Core.Native.Libc.MonotonicNow();
        JsonElement clock = Json(await Ok("clock", "--json"));
        long after = RtUdp.Core.Native.Libc.MonotonicNow();
        long engineNow = long.Parse(clock.GetProperty("reading").GetProperty("monotonicNs").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(engineNow, before, after);
        // Same host, same CLOCK_MONOTONIC: the estimated offset lies within its own error bound.
        Assert.InRange(Math.Abs(clock.GetProperty("offsetNs").GetInt64()), 0, clock.GetProperty("errorBoundNs").GetInt64());
    }

    [Fact]
    public async Task Errors_exit_with_documented_codes_and_say_what_to_do()
    {
        CtlProcess.Result missing = await Ctl("stats", "no-such-channel");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("channels/no-such-channel does not exist", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("rtudpctl channels ls", missing.Stderr, StringComparison.Ordinal);
        Assert.Equal("", missing.Stdout);
        Assert.Equal(1, (await Ctl("channels", "rm", "no-such-channel")).Exit);

        CtlProcess.Result invalid = await Ctl("channels", "create", "Bad_Name", "--direction", "send");
        Assert.Equal(1, invalid.Exit);
        Assert.Contains("channel_id", invalid.Stderr, StringComparison.Ordinal);
        Assert.Contains("[InvalidArgument]", invalid.Stderr, StringComparison.Ordinal);

        string rx = Clients.UniqueId("ctl-err");
        await Ok("channels", "create", rx, "--direction", "receive", "--priority", "0", "--capacity", "64");
        try
        {
            CtlProcess.Result wrongWay = await Ctl("send", rx, "x");
            Assert.Equal(1, wrongWay.Exit);
            Assert.Contains("[FailedPrecondition]", wrongWay.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await Ok("channels", "rm", rx);
        }

        string gone = Path.Combine(Path.GetTempPath(), $"rtudp-nobody-{Guid.NewGuid():N}.sock");
        CtlProcess.Result unreachable = await CtlOn(["--socket", gone], ["channels", "ls"]);
        Assert.Equal(3, unreachable.Exit);
        Assert.Contains($"cannot reach rtudpd at {gone}: no such socket", unreachable.Stderr, StringComparison.Ordinal);
        Assert.Contains("systemctl status rtudp", unreachable.Stderr, StringComparison.Ordinal);

        CtlProcess.Result fromEnvironment = await CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["health"], environment: new Dictionary<string, string> { ["RTUDP_SOCKET"] = gone });
        Assert.Equal(3, fromEnvironment.Exit);
        Assert.Contains(gone, fromEnvironment.Stderr, StringComparison.Ordinal);

        // A TCP port nobody listens on: bind one, learn it, close it.
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        CtlProcess.Result refused = await CtlOn(["--address", $"http://127.0.0.1:{port}"], ["channels", "ls"]);
        Assert.Equal(3, refused.Exit);
        Assert.Contains("connection refused", refused.Stderr, StringComparison.Ordinal);

        foreach (string[] bad in new[]
        {
            new[] { "channels", "ls", "--no-such-option" },
            ["recv", "x", "--timeout", "soon"],
            ["channels", "create", "x", "--direction", "sideways"],
            ["channels", "create", "x"],
            ["channels", "create", "x", "--direction", "send", "--remote", "localhost:80"],
            ["send", "x"],
            ["send", "x", "a", "--at", "1", "--delay", "1ms"],
            ["send", "x", "a", "--rate", "0"],
            ["hist", "x", "--percentiles", "50,101"],
            ["hist", "x", "--kind", "nope"],
            ["--socket", "/a", "--address", "http://127.0.0.1:1", "health"],
            ["--ca", "/etc/hostname", "health"],
            ["no-such-command"],
        })
        {
            CtlProcess.Result usage = await Ctl(bad);
            Assert.True(usage.Exit == 2, $"rtudpctl {string.Join(' ', bad)}: {usage}");
            Assert.StartsWith("rtudpctl: ", usage.Stderr, StringComparison.Ordinal);
        }
        CtlProcess.Result unreadable = await Ctl("send", "x", "--file", "/no/such/file");
        Assert.Equal(2, unreadable.Exit);
        Assert.Contains("--file", unreadable.Stderr, StringComparison.Ordinal);

        CtlProcess.Result help = await Ctl("--help");
        Assert.Equal(0, help.Exit);
        foreach (string command in new[] { "channels", "send", "recv", "stats", "hist", "watch", "caps", "health" })
        {
            Assert.Contains(command, help.Stdout, StringComparison.Ordinal);
        }
    }

    /// <summary>A started receiver and a sender aimed at it, created with rtudpctl; their ids and the receiver's port.</summary>
    [Fact]
    public async Task Sequenced_pair_gen_start_with_a_count_arrives_whole_in_the_flow_stats_and_capture_writes_it_to_a_pcapng_tshark_reads()
    {
        RtUdp.Testing.Tool.RequireFile(Tshark, "tshark");
        const int Count = 50;
        string rx = Clients.UniqueId("ctl-seq-rx");
        string tx = Clients.UniqueId("ctl-seq-tx");
        JsonElement receiver = Json(await Ok("channels", "create", rx, "--direction", "receive", "--sequenced", "--priority", "0", "--capacity", "1024", "--json"));
        Assert.Contains("CHANNEL_FLAG_SEQUENCED", receiver.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        int port = receiver.GetProperty("boundLocal").GetProperty("port").GetInt32();
        JsonElement sender = Json(await Ok("channels", "create", tx, "--direction", "send", "--remote", $"127.0.0.1:{port}", "--sequenced",
            "--flow-id", "7", "--flow-clock", "monotonic", "--priority", "0", "--capacity", "1024", "--json"));
        Assert.Equal(7, sender.GetProperty("flowId").GetInt64());
        Assert.Equal("FLOW_CLOCK_MONOTONIC", sender.GetProperty("flowClock").GetString());

        // The capture drains the receiver itself (exclusive), so every packet reaches the file.
        string file = Clients.UniqueId("ctl-cap") + ".pcapng";
        JsonElement capture = Json(await Ok("capture", "start", rx, file, "--exclusive", "--json"));
        string captureName = capture.GetProperty("name").GetString()!;
        Assert.Equal("CAPTURE_STATE_RUNNING", capture.GetProperty("state").GetString());
        Assert.Equal("CAPTURE_MODE_EXCLUSIVE", capture.GetProperty("mode").GetString());
        Assert.Matches($@"(?m)^{captureName}\s+running\s+exclusive\s", (await Ok("capture", "ls", rx)).Stdout);

        JsonElement started = Json(await Ok("gen", "start", tx, "--period", "1ms", "--count", Count.ToString(CultureInfo.InvariantCulture), "--size", "64", "--id", "g1", "--json"));
        string generator = started.GetProperty("name").GetString()!;
        Assert.Equal($"channels/{tx}/generators/g1", generator);

        JsonElement stats = await WaitJsonAsync(["stats", rx, "--json"], s => Int64(s.GetProperty("flowTotals").GetProperty("packets")) >= Count);
        JsonElement totals = stats.GetProperty("flowTotals");
        Assert.Equal(Count, Int64(totals.GetProperty("packets")));
        Assert.Equal(Count, Int64(totals.GetProperty("unique")));
        Assert.Equal(0, Int64(totals.GetProperty("lost")));
        JsonElement flow = stats.GetProperty("flows").EnumerateArray().Single();
        Assert.Equal(7, flow.GetProperty("flowId").GetInt64());
        Assert.Equal(Count, Int64(flow.GetProperty("received")));
        Assert.Equal(Count, Int64(flow.GetProperty("expected")));
        Assert.Contains($"flows: packets {Count}, unique {Count}, lost 0", (await Ok("stats", rx)).Stdout, StringComparison.Ordinal);

        JsonElement generators = await WaitJsonAsync(["gen", "ls", tx, "--json"],
            g => g.GetProperty("generators").EnumerateArray().Single().GetProperty("state").GetString() == "GENERATOR_STATE_COMPLETED");
        Assert.Equal(Count, Int64(generators.GetProperty("generators")[0].GetProperty("counters").GetProperty("enqueued")));
        Assert.Matches($@"(?m)^{generator}\s+completed\s+{Count}\s+{Count}\s", (await Ok("gen", "ls")).Stdout);

        await WaitJsonAsync(["capture", "ls", rx, "--json"], c => Int64(c.GetProperty("captures")[0].GetProperty("packetsWritten")) >= Count);
        JsonElement stopped = Json(await Ok("capture", "stop", captureName, "--json"));
        Assert.Equal("CAPTURE_STATE_STOPPED", stopped.GetProperty("state").GetString());
        Assert.Equal(Count, Int64(stopped.GetProperty("packetsWritten")));
        string path = stopped.GetProperty("path").GetString()!;
        Assert.Equal(Path.Combine(daemon.CaptureDirectory, file), path);
        CtlProcess.Result tshark = await CtlProcess.RunAsync(Tshark, ["-r", path, "-T", "fields", "-e", "udp.dstport", "-e", "udp.length"]);
        Assert.True(tshark.Exit == 0, tshark.ToString());
        string[] frames = tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Count, frames.Length);
        Assert.All(frames, f => Assert.Equal($"{port}\t{8 + 64}", f));

        // A stopped generator's name that does not exist: refused with exit code 1.
        Assert.Equal(1, (await Ctl("gen", "stop", $"channels/{tx}/generators/nope")).Exit);
        await Ok("channels", "rm", tx);
        await Ok("channels", "rm", rx);
    }

    [Fact]
    public async Task Send_wait_prints_each_packets_outcome_and_outcomes_follows_a_channel()
    {
        (string rx, string tx, _) = await PairAsync("ctl-oc");
        CtlProcess.Result waited = await Ok("send", tx, "ping", "--count", "5", "--rate", "1000", "--wait");
        string[] lines = waited.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^packet \d+: sent(-late)?, [+-][0-9.]+ (ns|µs|ms|s) against its time \(software stamp\)(; arrived late at the engine, [0-9.]+ (ns|µs|ms|s) after its time)?$")));
        Assert.Contains("outcomes: 5 sent (", waited.Stdout, StringComparison.Ordinal);
        Assert.Contains("), 0 dropped", waited.Stdout, StringComparison.Ordinal);

        // A packet 50 ms in the past on a dropping channel: --wait says so and exits 5.
        string dropping = Clients.UniqueId("ctl-oc-drop");
        JsonElement receiver = Json(await Ok("channels", "ls", "--json")).GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "channels/" + rx);
        await Ok("channels", "create", dropping, "--direction", "send", "--remote", $"127.0.0.1:{receiver.GetProperty("boundLocal").GetProperty("port").GetInt32()}", "--priority", "0", "--late-policy", "drop");
        long past = Int64(Json(await Ok("clock", "--json")).GetProperty("reading").GetProperty("monotonicNs")) - 50_000_000;
        CtlProcess.Result dropped = await Ctl("send", dropping, "late", "--at", past.ToString(CultureInfo.InvariantCulture), "--wait");
        Assert.True(dropped.Exit == 5, dropped.ToString());
        Assert.Matches(@"(?m)^packet \d+: dropped-late, it reached the worker [+][0-9.]+ (ms|s) after its time$", dropped.Stdout);

        // outcomes follows the channel: sends go on until it has printed its three records.
        Task<CtlProcess.Result> following = CtlProcess.RunAsync(CtlProcess.Rtudpctl, ["outcomes", tx, "--count", "3", "--json", "--socket", daemon.SocketPath]);
        var clock = Stopwatch.StartNew();
        while (!following.IsCompleted)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "rtudpctl outcomes never printed 3 records");
            await Ok("send", tx, "more");
            await Task.WhenAny(following, Task.Delay(100));
        }
        CtlProcess.Result followed = await following;
        Assert.True(followed.Exit == 0, followed.ToString());
        string[] records = followed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, records.Length);
        Assert.All(records, r => Assert.StartsWith("PACKET_FATE_SENT", JsonDocument.Parse(r).RootElement.GetProperty("outcome").GetProperty("fate").GetString(), StringComparison.Ordinal));
    }

    private async Task<(string Rx, string Tx, int RxPort)> PairAsync(string prefix)
    {
        string rx = Clients.UniqueId(prefix + "-rx");
        string tx = Clients.UniqueId(prefix + "-tx");
        JsonElement receiver = Json(await Ok("channels", "create", rx, "--direction", "receive", "--priority", "0", "--capacity", "1024", "--json"));
        int port = receiver.GetProperty("boundLocal").GetProperty("port").GetInt32();
        await Ok("channels", "create", tx, "--direction", "send", "--remote", $"127.0.0.1:{port}", "--priority", "0", "--capacity", "1024", "--json");
        return (rx, tx, port);
    }

    private async Task<JsonElement> WaitJsonAsync(string[] args, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JsonElement value = Json(await Ok(args));
            if (condition(value))
            {
                return value;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"rtudpctl {string.Join(' ', args)} never met the condition: {value}");
            await Task.Delay(20);
        }
    }
}
