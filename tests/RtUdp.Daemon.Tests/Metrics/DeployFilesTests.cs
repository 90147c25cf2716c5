using Microsoft.Extensions.Configuration;

namespace RtUdp.Daemon.Tests.Metrics;

/// <summary>
/// The Prometheus configuration and alerts pass promtool; the Kubernetes manifests parse (Debian's python3-yaml)
/// and ask for what the engine needs. Needs: apt-get install -y prometheus python3-yaml.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DeployFilesTests
{
    [Fact]
    public async Task Prometheus_config_and_alert_rules_pass_promtool()
    {
        (int exit, string output) = await DeployFiles.RunAsync(RtUdp.Testing.Tool.RequireFile(Exposition.Promtool, "prometheus"), "check", "config", DeployFiles.Path("prometheus", "prometheus.yml"));
        Assert.True(exit == 0, output);
        Assert.Contains("SUCCESS: 1 rule files found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubernetes_DaemonSet_is_guaranteed_with_whole_cpus_capabilities_host_network_and_grpc_probes()
    {
        const string Script = """
            import json, sys, yaml
            docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1]))}
            ds = docs["DaemonSet"]["spec"]["template"]["spec"]
            c = ds["containers"][0]
            r = c["resources"]
            assert ds["hostNetwork"] is True, "hostNetwork"
            assert r["requests"] == r["limits"], "Guaranteed QoS: requests must equal limits"
            cpu = r["limits"]["cpu"]
            assert str(cpu).isdigit() and int(cpu) >= 1, f"whole CPUs, got {cpu!r}"
            caps = set(c["securityContext"]["capabilities"]["add"])
            assert caps == {"SYS_NICE", "IPC_LOCK", "NET_ADMIN"}, caps
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert c[probe]["grpc"]["port"] == ports["grpc"], probe
            mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
            assert mounts["config"] == "/etc/rtudp" and "/etc/rtudp/rtudp.json" in c["command"], "config"
            assert ds["volumes"][0]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
            config = json.loads(docs["ConfigMap"]["data"]["rtudp.json"])
            assert config["Engine"]["Directory"].startswith(mounts["shm"]), "engine files on the memory-backed /dev/shm"
            # The probes follow the stall ladder (no systemd in the pod: the default bounds).
            health, restart, backoff = (float(a) for a in sys.argv[2:5])
            assert "StallTimeout" not in config.get("Engine", {}) and "StallRestartTimeout" not in config.get("Engine", {}), "the bounds below are the defaults"
            rd, lv = c["readinessProbe"], c["livenessProbe"]
            assert rd["periodSeconds"] * rd["failureThreshold"] <= health, "readiness notices a stall within one health bound"
            assert rd.get("successThreshold", 1) == 1, "Ready again at the first SERVING"
            unhealthy = lv["periodSeconds"] * lv["failureThreshold"]
            assert unhealthy > (restart - health) + backoff + 5, f"liveness ({unhealthy} s) waits for the engine restart, its back-off and a start"
            env = {e["name"]: e.get("value") for e in c["env"]}
            assert env["RTUDP_Listen__Tcp"].endswith(":%d" % ports["grpc"]) and env["RTUDP_Http__Listen"].endswith(":%d" % ports["metrics"])
            assert docs["DaemonSet"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(ports["metrics"])
            assert docs["Service"]["spec"]["clusterIP"] == "None"
            print("OK", json.dumps(config["Listen"]))
            """;
        string script = Path.Combine(Path.GetTempPath(), $"rtudp-k8s-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, Script);
        try
        {
            (int exit, string output) = await DeployFiles.RunAsync(DeployFiles.PythonWithYaml(), script, DeployFiles.Path("k8s", "daemonset.yaml"),
                Seconds(RtUdp.Daemon.Engine.StallBounds.DefaultHealth), Seconds(RtUdp.Daemon.Engine.StallBounds.DefaultRestart), Seconds(new RtUdp.Daemon.Engine.EngineSupervisorOptions().MaxRestartDelay));
            Assert.True(exit == 0 && output.StartsWith("OK", StringComparison.Ordinal), output);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task The_ConfigMaps_configuration_is_valid_for_rtudpd()
    {
        // The same validation rtudpd runs at start, on the ConfigMap's rtudp.json with the DaemonSet's variables.
        (int exit, string output) = await DeployFiles.RunAsync(DeployFiles.PythonWithYaml(), "-c",
            "import sys, yaml; print([d for d in yaml.safe_load_all(open(sys.argv[1])) if d['kind'] == 'ConfigMap'][0]['data']['rtudp.json'])",
            DeployFiles.Path("k8s", "daemonset.yaml"));
        Assert.Equal(0, exit);
        var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        using (var doc = System.Text.Json.JsonDocument.Parse(output))
        {
            Flatten(doc.RootElement, "", keys);
        }
        keys["Listen:Tcp"] = "10.0.0.7:50051";
        keys["Http:Listen"] = "10.0.0.7:9464";
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(keys).Build();
        (RtUdp.Daemon.Hosting.DaemonSettings settings, IReadOnlyList<string> problems) = RtUdp.Daemon.Hosting.DaemonSettings.Load(configuration);
        Assert.Empty(problems);
        Assert.Equal(9464, settings.Http.EndPoint!.Port);
        Assert.NotEmpty(settings.Channels);
    }

    /// <summary>JSON as configuration keys ("Listen:Tcp", "Channels:0:name"), as the JSON provider makes them.</summary>
    private static void Flatten(System.Text.Json.JsonElement element, string prefix, Dictionary<string, string?> keys)
    {
        switch (element.ValueKind)
        {
            case System.Text.Json.JsonValueKind.Object:
                foreach (System.Text.Json.JsonProperty p in element.EnumerateObject())
                {
                    Flatten(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}:{p.Name}", keys);
                }
                break;
            case System.Text.Json.JsonValueKind.Array:
                int i = 0;
                foreach (System.Text.Json.JsonElement item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:{i++}", keys);
                }
                break;
            default:
                keys[prefix] = element.ValueKind == System.Text.Json.JsonValueKind.String ? element.GetString() : element.GetRawText();
                break;
        }
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
