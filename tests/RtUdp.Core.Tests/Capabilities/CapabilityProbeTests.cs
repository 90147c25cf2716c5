using System.Text.Json;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Tests.Native;
using Xunit.Abstractions;
using RtUdp.Testing;

namespace RtUdp.Core.Tests.Capabilities;

/// <summary>
/// The report against what the system's own tools say on the same machine: ethtool -T (ethtool),
/// tc qdisc show (iproute2), adjtimex compiled from C, /proc/sys/kernel/version. Read-only.
/// </summary>
public sealed class CapabilityProbeTests(CapabilityProbeTests.Fixture fixture, ITestOutputHelper output)
    : IClassFixture<CapabilityProbeTests.Fixture>
{
    private CapabilityReport Report => fixture.Report;

    [Fact]
    public void Every_interface_in_sysfs_is_reported_with_its_ifindex()
    {
        foreach (string line in Report.ToLogLines())
        {
            output.WriteLine(line);
        }

        string[] names = [.. Directory.GetFileSystemEntries("/sys/class/net").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
        Assert.Equal(names, Report.Interfaces.Select(i => i.Name).Order(StringComparer.Ordinal));
        foreach (InterfaceCapabilities i in Report.Interfaces)
        {
            int expected = int.Parse(File.ReadAllText($"/sys/class/net/{i.Name}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, i.Ifindex);
        }

        InterfaceCapabilities lo = Report.Interfaces.Single(i => i.Name == "lo");
        Assert.True(lo.Up);
        Assert.True(lo.Running);
    }

    [Fact]
    public void Every_interface_says_what_it_offers_xdp_as_the_netdev_family_does()
    {
        foreach (InterfaceCapabilities i in Report.Interfaces)
        {
            XdpInterfaceCapabilities xdp = Assert.IsType<XdpInterfaceCapabilities>(i.Xdp);
            RtUdp.Core.Xdp.XdpDeviceFeatures features = RtUdp.Core.Xdp.XdpFeatureReader.Read(i.Ifindex);
            output.WriteLine($"{i.Name}: {xdp.Summary}");
            Assert.Equal(features.Describe(), xdp.Summary);
            Assert.Equal(features.ZeroCopy, xdp.ZeroCopy);
            Assert.Equal(features.TxLaunchTimeFifo, xdp.TxLaunchTimeFifo);
            Assert.StartsWith("xdp", xdp.Summary, StringComparison.Ordinal);
        }

        // Loopback has no XDP in its driver and never zero-copy: generic mode only, copy mode.
        XdpInterfaceCapabilities lo = Report.Interfaces.Single(i => i.Name == "lo").Xdp!;
        Assert.Equal("xdp: none (generic/skb mode only); zero-copy no (copy mode); xsk tx metadata: none", lo.Summary);
        Assert.False(lo.ZeroCopy);
        Assert.Contains(Report.ToLogLines(), l => l.StartsWith("if lo ", StringComparison.Ordinal) && l.EndsWith(", " + lo.Summary, StringComparison.Ordinal));
        using JsonDocument doc = JsonDocument.Parse(Report.ToJson());
        JsonElement json = doc.RootElement.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "lo").GetProperty("xdp");
        Assert.Equal(lo.Summary, json.GetProperty("summary").GetString());
        Assert.False(json.GetProperty("zero_copy").GetBoolean());
    }

    [Fact]
    public void Loopback_timestamping_matches_ethtool() => AssertMatchesEthtool("lo");

    [Fact]
    public void Every_interface_timestamping_matches_ethtool()
    {
        foreach (InterfaceCapabilities i in Report.Interfaces)
        {
            AssertMatchesEthtool(i.Name);
        }
    }

    [Fact]
    public void Qdiscs_match_tc_for_every_interface()
    {
        string tc = Tool.Require("tc", "iproute2");
        Assert.NotEmpty(Report.Interfaces);
        foreach (InterfaceCapabilities i in Report.Interfaces)
        {
            Assert.Null(i.QdiscError);
            // "qdisc noqueue 0: root refcnt 2" / "qdisc ingress ffff: parent ffff:fff1 ----------------"
            string[] expected = [.. Tool.Run(tc, "qdisc", "show", "dev", i.Name)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(t => t.Length >= 3 && t[0] == "qdisc")
                .Select(t => t[1] + " " + t[2])
                .Order(StringComparer.Ordinal)];
            string[] actual = [.. i.Qdiscs.Select(q => q.Kind + " " + q.HandleId).Order(StringComparer.Ordinal)];
            output.WriteLine($"{i.Name}: tc [{string.Join(", ", expected)}], ours [{string.Join(", ", actual)}]");
            Assert.Equal(expected, actual);

            bool tcHasLaunchTime = expected.Any(e => e.StartsWith("etf ", StringComparison.Ordinal) || e.StartsWith("fq ", StringComparison.Ordinal));
            if (!expected.Any(e => e.StartsWith("taprio ", StringComparison.Ordinal)))
            {
                Assert.Equal(tcHasLaunchTime, i.LaunchTime is not null);
            }
        }
    }

    [Fact]
    public void Qdisc_reader_for_one_ifindex_returns_only_that_interface()
    {
        InterfaceCapabilities lo = Report.Interfaces.Single(i => i.Name == "lo");
        IReadOnlyList<QdiscInfo> qdiscs = QdiscReader.Read(lo.Ifindex);
        Assert.All(qdiscs, q => Assert.Equal(lo.Ifindex, q.Ifindex));
        Assert.Equal(lo.Qdiscs.Select(q => q.Kind), qdiscs.Select(q => q.Kind));
    }

    [Fact]
    public void Tai_offset_matches_adjtimex_compiled_from_C()
    {
        var probe = new HeaderProbe.SourceBuilder(["sys/timex.h"]);
        probe.Value("tai", "({ struct timex t = { .modes = 0 }; adjtimex(&t) < 0 ? -1000000 : t.tai; })");
        probe.Value("unsync", "({ struct timex t = { .modes = 0 }; adjtimex(&t); (t.status & STA_UNSYNC) != 0; })");
        IReadOnlyDictionary<string, string> c = HeaderProbe.Run(probe.ToString());

        Assert.Equal(int.Parse(c["tai"], System.Globalization.CultureInfo.InvariantCulture), TaiOffset.Read());
        Assert.Equal(c["tai"], Report.Host.Clock!.TaiOffsetSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["unsync"] == "1", !Report.Host.Clock.Synchronized);
    }

    [Fact]
    public void Preemption_model_is_consistent_with_kernel_version()
    {
        string version = File.ReadAllText("/proc/sys/kernel/version");
        string[] tags = version.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        Preemption p = Report.Host.Preemption;
        Assert.Equal(tags.Contains("PREEMPT_DYNAMIC"), p.Dynamic);
        if (tags.Contains("PREEMPT_RT"))
        {
            Assert.Equal(PreemptionModel.Rt, p.Model);
        }
        else if (p.Source == "kernel_version")
        {
            PreemptionModel expected = tags.Contains("PREEMPT_DYNAMIC") ? PreemptionModel.Dynamic
                : tags.Contains("PREEMPT_LAZY") ? PreemptionModel.Lazy
                : tags.Contains("PREEMPT") ? PreemptionModel.Full
                : PreemptionModel.None;
            Assert.Equal(expected, p.Model);
        }
        else
        {
            Assert.Equal("debugfs", p.Source);
            Assert.Contains("(" + JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Model.ToString()) + ")",
                File.ReadAllText(HostProbe.PreemptDebugfs), StringComparison.Ordinal);
        }

        Assert.Equal(File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), Report.Host.KernelRelease);
    }

    [Theory]
    [InlineData("#1 SMP PREEMPT_DYNAMIC @0", null, PreemptionModel.Dynamic, true, "kernel_version")]
    [InlineData("#1 SMP PREEMPT_DYNAMIC Debian 6.1.0", "none voluntary (full) lazy", PreemptionModel.Full, true, "debugfs")]
    [InlineData("#1 SMP PREEMPT_RT Thu Jan 1", null, PreemptionModel.Rt, false, "kernel_version")]
    [InlineData("#1 SMP PREEMPT Thu Jan 1", null, PreemptionModel.Full, false, "kernel_version")]
    [InlineData("#1 SMP Thu Jan 1", null, PreemptionModel.None, false, "kernel_version")]
    public void Preemption_inference(string version, string? debugfs, PreemptionModel model, bool dynamic, string source) =>
        Assert.Equal(new Preemption(model, dynamic, source), HostProbe.ReadPreemption(debugfs, version));

    [Fact]
    public void Root_may_use_SCHED_FIFO_and_mlock()
    {
        Assert.True(Tmds.Linux.LibC.geteuid() == 0, "this test needs root (CI runs as root)");
        Assert.True(Report.Host.SchedFifo.Permitted, Report.Host.SchedFifo.Error);
        Assert.True(Report.Host.MemoryLock.Permitted, Report.Host.MemoryLock.Error);
        // The probe restored the policy it borrowed; this thread never changed.
        Assert.Equal(Tmds.Linux.LibC.SCHED_OTHER, RtUdp.Core.Native.Libc.sched_getscheduler(0));
    }

    [Fact]
    public void Host_files_are_reported_as_read()
    {
        HostFacts h = Report.Host;
        Assert.Equal(File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource").Trim(), h.ClockSource.Current);
        Assert.Contains(h.ClockSource.Current!, h.ClockSource.Available);
        Assert.Equal(long.Parse(File.ReadAllText("/proc/sys/kernel/sched_rt_runtime_us"), System.Globalization.CultureInfo.InvariantCulture), h.RtThrottling.RuntimeUs);
        Assert.Equal(File.Exists("/sys/devices/system/cpu/nohz_full"), h.NohzFull.Raw is not null);
        Assert.Equal(HostProbe.ParseCpuList(File.ReadAllText("/sys/devices/system/cpu/isolated").Trim()), h.IsolatedCpus.Cpus);
        Assert.Equal(HostProbe.ParseCpuList(File.ReadAllText("/sys/devices/system/cpu/online").Trim()).Count, h.CpuCount);
    }

    [Fact]
    public void Cpu_lists_parse_like_the_kernel_prints_them()
    {
        Assert.Empty(HostProbe.ParseCpuList(""));
        Assert.Equal([0, 1, 2, 3, 8, 10, 11], HostProbe.ParseCpuList("0-3,8,10-11"));
    }

    [Fact]
    public void Json_round_trips_with_snake_case_keys_and_string_enums()
    {
        string json = Report.ToJson();
        output.WriteLine(json);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        JsonElement host = root.GetProperty("host");
        Assert.Equal(JsonValueKind.String, host.GetProperty("preemption").GetProperty("model").ValueKind);
        Assert.True(host.GetProperty("sched_fifo").TryGetProperty("permitted", out _));
        Assert.True(host.TryGetProperty("rt_throttling", out _));
        Assert.True(host.GetProperty("clock").TryGetProperty("tai_offset_seconds", out _));
        JsonElement lo = root.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "lo");
        Assert.Equal(-1, lo.GetProperty("phc_index").GetInt32());
        Assert.Equal("software-transmit", lo.GetProperty("timestamping").GetProperty("so_timestamping")[0].GetString());
        Assert.Equal("not supported", lo.GetProperty("hwtstamp_config").GetProperty("state").GetString());
        Assert.Equal("noqueue", lo.GetProperty("qdiscs")[0].GetProperty("kind").GetString());
        Assert.Equal("root", lo.GetProperty("qdiscs")[0].GetProperty("parent_id").GetString());
        Assert.DoesNotContain("\"SoTimestamping\"", json, StringComparison.Ordinal);

        CapabilityReport back = CapabilityReport.FromJson(json);
        Assert.Equal(json, back.ToJson());
        Assert.Equal(Report.Host.Preemption, back.Host.Preemption);
    }

    private void AssertMatchesEthtool(string ifname)
    {
        string ethtool = Tool.Require("ethtool", "ethtool");
        EthtoolTimestamping expected = EthtoolTimestamping.Parse(Tool.Run(ethtool, "-T", ifname));
        TimestampingInfo actual = Report.Interfaces.Single(i => i.Name == ifname).Timestamping;
        output.WriteLine($"{ifname}: ethtool [{string.Join(' ', expected.Capabilities)}] phc {expected.PhcIndex}; ours [{string.Join(' ', actual.SoTimestamping)}] phc {actual.PhcIndex}");
        Assert.Null(actual.Error);
        Assert.Equal(expected.Capabilities, actual.SoTimestamping);
        Assert.Equal(expected.PhcIndex, actual.PhcIndex);
        Assert.Equal(expected.TxTypes, actual.TxTypes);
        Assert.Equal(expected.RxFilters, actual.RxFilters);
    }

    public sealed class Fixture
    {
        public CapabilityReport Report { get; } = CapabilityProbe.Run();
    }
}

/// <summary>The parts of <c>ethtool -T IFACE</c> output the report must agree with.</summary>
internal sealed record EthtoolTimestamping(string[] Capabilities, int PhcIndex, string[] TxTypes, string[] RxFilters)
{
    // Time stamping parameters for lo:
    // Capabilities:
    //         software-transmit
    //         software-receive     (SOF_TIMESTAMPING_RX_SOFTWARE)     <- older ethtool adds the C name
    // PTP Hardware Clock: none
    // Hardware Transmit Timestamp Modes: none
    // Hardware Receive Filter Modes:
    //         all
    public static EthtoolTimestamping Parse(string text)
    {
        var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        int phc = int.MinValue;
        foreach (string raw in text.Split('\n'))
        {
            if (raw.Length == 0)
            {
                continue;
            }

            if (char.IsWhiteSpace(raw[0]))
            {
                current?.Add(raw.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]);
                continue;
            }

            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            string key = colon < 0 ? raw : raw[..colon];
            string value = colon < 0 ? "" : raw[(colon + 1)..].Trim();
            current = sections[key] = [];
            if (key == "PTP Hardware Clock")
            {
                phc = value == "none" ? -1 : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        Assert.True(phc != int.MinValue, "ethtool printed no 'PTP Hardware Clock' line:\n" + text);
        string[] Section(string name) => sections.TryGetValue(name, out List<string>? v) ? [.. v] : [];
        return new EthtoolTimestamping(Section("Capabilities"), phc,
            Section("Hardware Transmit Timestamp Modes"), Section("Hardware Receive Filter Modes"));
    }
}
