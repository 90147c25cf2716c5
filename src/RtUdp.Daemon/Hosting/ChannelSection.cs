using System.Globalization;
using System.Net;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// Parses "Channels": an array of channel definitions, each mapped onto <see cref="ChannelConfig"/> and
/// checked with <see cref="ChannelConfig.Validate"/>. Problems name their key ("Channels:0:priority").
/// </summary>
internal static class ChannelSection
{
    /// <summary>The keys a channel definition may have (camelCase, as in ChannelConfig's field names).</summary>
    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        "id", "name", "direction", "local", "remote", "capacity", "maxPayload", "txRingBytes", "rxRingBytes",
        "cpu", "sendCpu", "receiveCpu", "priority", "timing", "spinMarginNs", "latePolicy", "lateToleranceNs",
        "batchSize", "socketBufferBytes", "flags", "timestamps", "hardwareStampTimeoutNs", "launchTime",
        "launchLeadNs", "flowId", "flowClock", "gso", "gro", "receiveStrategy", "busyPollNs", "start",
        "dataPath", "xdpQueue", "xdpZeroCopy", "xdpAttachMode",
    };

    public static IReadOnlyList<ConfiguredChannel> Parse(IConfigurationSection section, List<string> problems)
    {
        var channels = new List<ConfiguredChannel>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var ids = new HashSet<uint>();
        var cpus = new Lazy<HostCpus?>(OwnCpus);
        IConfigurationSection[] children = section.GetChildren().ToArray();
        for (int i = 0; i < children.Length; i++)
        {
            IConfigurationSection child = children[i];
            string key = $"Channels:{child.Key}";
            var parser = new Parser(child, key, problems);
            foreach (IConfigurationSection field in child.GetChildren())
            {
                if (!Known.Contains(field.Key))
                {
                    problems.Add($"{key}:{field.Key}: unknown channel field (known: {string.Join(", ", Known.Order(StringComparer.Ordinal))})");
                }
            }
            int before = problems.Count;
            var defaults = new ChannelConfig();
            int cpu = parser.Int("cpu", -1);
            int sendCpu = parser.Int("sendCpu", cpu), receiveCpu = parser.Int("receiveCpu", cpu);
            ChannelDirection direction = parser.Enum("direction", defaults.Direction);
            IPEndPoint? remote = parser.EndPoint("remote");
            var config = new ChannelConfig
            {
                Id = parser.UInt("id", (uint)(i + 1)),
                Name = parser.String("name", ""),
                Direction = direction,
                Remote = remote,
                Local = parser.EndPoint("local") ?? ChannelConfig.DefaultLocalFor(remote),
                Capacity = parser.Int("capacity", defaults.Capacity),
                MaxPayload = parser.Int("maxPayload", defaults.MaxPayload),
                TxRingBytes = parser.Long("txRingBytes", 0),
                RxRingBytes = parser.Long("rxRingBytes", 0),
                SendCpu = sendCpu,
                ReceiveCpu = receiveCpu,
                Priority = parser.Int("priority", ChannelConfig.DefaultPriority(direction, sendCpu, receiveCpu)),
                Timing = parser.Enum("timing", defaults.Timing),
                SpinMarginNs = parser.Long("spinMarginNs", defaults.SpinMarginNs),
                LatePolicy = parser.Enum("latePolicy", defaults.LatePolicy),
                ClientExit = parser.Enum("clientExit", defaults.ClientExit),
                LateToleranceNs = parser.Long("lateToleranceNs", defaults.LateToleranceNs),
                BatchSize = parser.Int("batchSize", defaults.BatchSize),
                SocketBufferBytes = parser.Int("socketBufferBytes", defaults.SocketBufferBytes),
                Flags = parser.Flags("flags"),
                Timestamps = parser.Enum("timestamps", defaults.Timestamps),
                HardwareStampTimeoutNs = parser.Long("hardwareStampTimeoutNs", defaults.HardwareStampTimeoutNs),
                LaunchTime = parser.Enum("launchTime", defaults.LaunchTime),
                LaunchLeadNs = parser.Long("launchLeadNs", defaults.LaunchLeadNs),
                FlowId = parser.UInt("flowId", defaults.FlowId),
                FlowClock = parser.Enum("flowClock", defaults.FlowClock),
                Gso = parser.Enum("gso", defaults.Gso),
                Gro = parser.Enum("gro", defaults.Gro),
                ReceiveStrategy = parser.Enum("receiveStrategy", defaults.ReceiveStrategy),
                BusyPollNs = parser.Long("busyPollNs", defaults.BusyPollNs),
                DataPath = parser.Enum("dataPath", defaults.DataPath),
                XdpQueue = parser.Int("xdpQueue", defaults.XdpQueue),
                XdpZeroCopy = parser.Enum("xdpZeroCopy", defaults.XdpZeroCopy),
                XdpAttach = parser.Enum("xdpAttachMode", defaults.XdpAttach),
            };
            if (config.Xdp && child["maxPayload"] is null)
            {
                // The socket path's default does not fit one UMEM frame (as in the API).
                config = config with { MaxPayload = ChannelConfig.XdpMaxPayload };
            }
            bool start = parser.Bool("start", true);
            if (problems.Count > before)
            {
                continue;
            }
            if (config.Validate() is { } problem)
            {
                problems.Add($"{key}:{CamelCase(problem.Field)}: {problem.Message}");
                continue;
            }
            if (cpus.Value is { } hostCpus && ChannelHostCheck.Check(config, hostCpus, limits: null) is { Count: > 0 } findings)
            {
                // The engine inherits rtudpd's CPUs; its priority limits are checked when it runs (ChannelArming).
                foreach (HostFinding finding in findings)
                {
                    problems.Add($"{key}:{CpuKey(child, finding.Field)}: {finding.Message}");
                }
                continue;
            }
            if (config.Id == 0)
            {
                problems.Add($"{key}:id: must be 1 or more");
                continue;
            }
            if (!names.Add(config.Name))
            {
                problems.Add($"{key}:name: '{config.Name}' is declared twice");
                continue;
            }
            if (!ids.Add(config.Id))
            {
                problems.Add($"{key}:id: {config.Id} is declared twice");
                continue;
            }
            channels.Add(new ConfiguredChannel(key, config, start));
        }
        return channels;
    }

    private static HostCpus? OwnCpus()
    {
        try
        {
            return HostCpus.Of(Environment.ProcessId);
        }
        catch (NativeCallException)
        {
            // Unknowable here: the engine's are checked when it runs.
            return null;
        }
    }

    /// <summary>The key that gave a worker's CPU: "sendCpu"/"receiveCpu", or "cpu" when it gave both.</summary>
    private static string CpuKey(IConfigurationSection channel, string field)
    {
        string own = CamelCase(field);
        return channel[own] is null && channel["cpu"] is not null ? "cpu" : own;
    }

    /// <summary>send_cpu → sendCpu (ChannelConfig.Validate names fields in snake_case).</summary>
    internal static string CamelCase(string snake)
    {
        string[] parts = snake.Replace('.', '_').Split('_');
        return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private readonly struct Parser(IConfigurationSection section, string key, List<string> problems)
    {
        private string? Raw(string name) => section[name];

        public string String(string name, string fallback) => Raw(name) ?? fallback;

        public bool Bool(string name, bool fallback)
        {
            string? raw = Raw(name);
            if (raw is null)
            {
                return fallback;
            }
            if (bool.TryParse(raw, out bool value))
            {
                return value;
            }
            problems.Add($"{key}:{name}: '{raw}' is not true or false");
            return fallback;
        }

        public int Int(string name, int fallback) => (int)Number(name, fallback, int.MinValue, int.MaxValue);

        public uint UInt(string name, uint fallback) => (uint)Number(name, fallback, 0, uint.MaxValue);

        public long Long(string name, long fallback) => Number(name, fallback, long.MinValue, long.MaxValue);

        private long Number(string name, long fallback, long min, long max)
        {
            string? raw = Raw(name);
            if (raw is null)
            {
                return fallback;
            }
            if (long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) && value >= min && value <= max)
            {
                return value;
            }
            problems.Add($"{key}:{name}: '{raw}' is not an integer from {min} to {max}");
            return fallback;
        }

        public IPEndPoint? EndPoint(string name)
        {
            string? raw = Raw(name);
            if (string.IsNullOrEmpty(raw))
            {
                return null;
            }
            if (DaemonSettings.TryParseEndPoint(raw, out IPEndPoint endpoint))
            {
                return endpoint;
            }
            problems.Add($"{key}:{name}: '{raw}' is not a valid endpoint (address:port, IPv6 in brackets)");
            return null;
        }

        /// <summary>Case-insensitive, with or without '_' / '-' ("send_late", "SendLate"); numbers are refused.</summary>
        public T Enum<T>(string name, T fallback)
            where T : struct, Enum
        {
            string? raw = Raw(name);
            if (raw is null)
            {
                return fallback;
            }
            string normalized = raw.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
            if (!normalized.Any(char.IsDigit) && System.Enum.TryParse(normalized, ignoreCase: true, out T value) && System.Enum.IsDefined(value))
            {
                return value;
            }
            problems.Add($"{key}:{name}: '{raw}' is not one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
            return fallback;
        }

        /// <summary>"flags": a comma-separated string or an array of names.</summary>
        public ChannelFlags Flags(string name)
        {
            IConfigurationSection flags = section.GetSection(name);
            IEnumerable<string> names = flags.Value is { } single
                ? single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : flags.GetChildren().Select(c => c.Value ?? "");
            ChannelFlags result = ChannelFlags.None;
            foreach (string flag in names)
            {
                string normalized = flag.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
                if (!normalized.Any(char.IsDigit) && System.Enum.TryParse(normalized, ignoreCase: true, out ChannelFlags value))
                {
                    result |= value;
                }
                else
                {
                    problems.Add($"{key}:{name}: '{flag}' is not one of {string.Join(", ", System.Enum.GetNames<ChannelFlags>().Where(n => n != "None").Select(n => n.ToLowerInvariant()))}");
                }
            }
            return result;
        }
    }
}
