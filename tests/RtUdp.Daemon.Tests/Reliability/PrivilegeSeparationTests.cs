using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Net.Client;
using RtUdp.Core.Privileges;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Privilege separation: the gRPC-facing rtudpd holds none of the engine's capabilities
/// (CAP_SYS_NICE, CAP_IPC_LOCK, CAP_NET_ADMIN); only the engine (and, under systemd, the engine
/// launcher) does. Two ways in, both tested with rtudpd running as an unprivileged user:
/// file capabilities on rtudp-engine (outside systemd), and ambient capabilities under no_new_privs,
/// which is what the packaged unit gives (systemd forces no_new_privs there, so file capabilities are
/// ignored). Needs root (setcap, setpriv) and libcap2-bin.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivilegeSeparationTests : IDisposable
{
    /// <summary>CAP_NET_ADMIN (12), CAP_IPC_LOCK (14), CAP_SYS_NICE (23).</summary>
    private const ulong EngineCapabilities = (1UL << 12) | (1UL << 14) | (1UL << 23);

    private readonly string _root = Path.Combine(TemporaryDirectoryHonouringFileCapabilities(), $"rel-privsep-{Guid.NewGuid():N}"[..24]);
    private readonly string _engineDirectory = Path.Combine("/dev/shm", $"rel-privsep-engine-{Guid.NewGuid():N}"[..28]);

    [Fact]
    public async Task An_unprivileged_daemon_without_capabilities_runs_a_file_capability_engine_whose_workers_reach_SCHED_FIFO()
    {
        string install = Install();
        // File capabilities (secure-exec mode, which the .NET apphost runs in), granted when rtudpd execs it.
        Run(RtUdp.Testing.Tool.Require("setcap", "libcap2-bin"), "cap_sys_nice,cap_ipc_lock,cap_net_admin=ep", Path.Combine(install, "rtudp-engine"));
        Assert.Contains("cap_net_admin,cap_ipc_lock,cap_sys_nice=ep", Run(RtUdp.Testing.Tool.Require("getcap", "libcap2-bin"), Path.Combine(install, "rtudp-engine")), StringComparison.Ordinal);
        await using var daemon = new UnprivilegedDaemon(this, install, ["--inh-caps=-all"]);

        Channel tx = await daemon.CreateRealtimeSenderAsync();
        AssertHoldsNothing(daemon.Pid);
        Assert.Contains("Privilege separation in effect: rtudpd holds none of the engine's capabilities", daemon.Log(), StringComparison.Ordinal);

        // The engine: the same user, exactly the three capabilities, from the file.
        int engine = ChildOf(daemon.Pid, "rtudp-engine");
        AssertHoldsExactlyTheEngines(engine);
        await daemon.AssertRealtimeAndSendsAsync(tx, engine);
        await DaemonAccounting.DeleteBalancedAsync(daemon.Api, tx.Name);
    }

    [Fact]
    public async Task Under_the_units_ambient_capabilities_and_no_new_privs_rtudpd_sheds_them_from_every_thread_and_only_the_launcher_and_engine_hold_them()
    {
        // No file capabilities: the unit's way. systemd starts rtudpd as the service user with the three as
        // ambient capabilities and no_new_privs set; setpriv does the same.
        string install = Install();
        await using var daemon = new UnprivilegedDaemon(this, install,
            ["--inh-caps=+sys_nice,+ipc_lock,+net_admin", "--ambient-caps=+sys_nice,+ipc_lock,+net_admin", "--no-new-privs"]);

        Channel tx = await daemon.CreateRealtimeSenderAsync();
        // rtudpd re-executed itself (same pid, which systemd tracks) without them: every thread is empty.
        AssertHoldsNothing(daemon.Pid);
        Assert.Equal("1", Status(daemon.Pid)["NoNewPrivs"]);
        Assert.Contains("Privilege separation in effect: rtudpd holds no capability", daemon.Log(), StringComparison.Ordinal);
        Assert.Contains("(no xdp channels: the unit's xdp drop-in is not installed)", daemon.Log(), StringComparison.Ordinal);

        // The launcher is rtudpd's child, the engine the launcher's; both hold exactly the three.
        int launcher = ChildOf(daemon.Pid, "--launcher");
        int engine = ChildOf(launcher, "rtudp-engine");
        AssertHoldsExactlyTheEngines(launcher);
        AssertHoldsExactlyTheEngines(engine);
        Assert.Equal("65534", Status(launcher)["Uid"].Split('\t')[0]);
        await daemon.AssertRealtimeAndSendsAsync(tx, engine);

        // The engine dies: the launcher starts the next one, with the capabilities, and the channel comes back.
        Assert.Equal(0, Tmds.Linux.LibC.kill(engine, Tmds.Linux.LibC.SIGKILL));
        int next = await WaitForAsync<int>(() => TryChildOf(launcher, "rtudp-engine") is int pid && pid != engine ? pid : null, "a new engine under the launcher", daemon.Log);
        AssertHoldsExactlyTheEngines(next);
        await WaitForAsync<bool>(() => daemon.Log().Contains($"Engine {next} restarted: 1 channels restored", StringComparison.Ordinal) ? true : (bool?)null, "the channel restored", daemon.Log);
        V1.ChannelStats restored = await daemon.Api.WaitStatsAsync(tx.Name, s => s.Sender.State == WorkerState.Running && s.Sender.ThreadId != 0, TimeSpan.FromSeconds(20));
        Assert.Contains("Fifo", restored.Sender.RealtimeMode, StringComparison.Ordinal);
        AssertHoldsNothing(daemon.Pid);

        // The launcher dies: the capabilities are gone for good, so rtudpd exits non-zero for systemd's Restart= to act.
        Assert.Equal(0, Tmds.Linux.LibC.kill(launcher, Tmds.Linux.LibC.SIGKILL));
        Assert.True(await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)), "rtudpd kept running without its launcher:\n" + daemon.Log());
        Assert.Equal(1, daemon.ExitCode);
        Assert.Contains("The engine launcher is gone", daemon.Log(), StringComparison.Ordinal);
        await WaitForAsync<bool>(() => Directory.Exists($"/proc/{next}") ? null : (bool?)true, "the engine to exit with its launcher", daemon.Log);
    }

    [Fact]
    public async Task With_the_xdp_drop_ins_capabilities_too_rtudpd_sheds_all_and_the_launcher_and_engine_hold_exactly_the_engines_and_xdps()
    {
        // deploy/systemd/rtudp-xdp.conf adds CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_DAC_OVERRIDE to the unit's ambient set.
        const string Caps = "+sys_nice,+ipc_lock,+net_admin,+net_raw,+bpf,+perfmon,+dac_override";
        Assert.Equal(EngineCapabilities | (1UL << 13) | (1UL << 39) | (1UL << 38) | (1UL << 1), CapabilitySets.EngineWithXdp);
        string install = Install();
        await using var daemon = new UnprivilegedDaemon(this, install, [$"--inh-caps={Caps}", $"--ambient-caps={Caps}", "--no-new-privs"]);

        Channel tx = await daemon.CreateRealtimeSenderAsync();
        AssertHoldsNothing(daemon.Pid);
        Assert.Contains("CAP_NET_ADMIN CAP_IPC_LOCK CAP_SYS_NICE CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_DAC_OVERRIDE and starts the engine with them (xdp channels allowed)", daemon.Log(), StringComparison.Ordinal);
        int launcher = ChildOf(daemon.Pid, "--launcher");
        int engine = ChildOf(launcher, "rtudp-engine");
        foreach (int pid in new[] { launcher, engine })
        {
            Dictionary<string, string> status = Status(pid);
            Assert.Equal("65534", status["Uid"].Split('\t')[0]);
            Assert.Equal(CapabilitySets.EngineWithXdp, Mask(status["CapEff"]));
            Assert.Equal(CapabilitySets.EngineWithXdp, Mask(status["CapPrm"]));
        }
        await DaemonAccounting.DeleteBalancedAsync(daemon.Api, tx.Name);
    }

    /// <summary>rtudpd and rtudp-engine side by side in a directory of root's, and runtime directories of the service user (nobody here).</summary>
    private string Install()
    {
        (string daemonBinary, _) = RtUdp.Testing.DaemonBinary.Locate();
        string install = Path.Combine(_root, "lib");
        CopyDirectory(Path.GetDirectoryName(daemonBinary)!, install);
        Directory.CreateDirectory(Path.Combine(_root, "run"));
        Directory.CreateDirectory(_engineDirectory);
        Run("chown", "nobody:nogroup", Path.Combine(_root, "run"), _engineDirectory);
        Run("chmod", "0755", _root);
        return install;
    }

    /// <summary>
    /// The kernel ignores file capabilities on a nosuid mount, and /tmp often is one (systemd-nspawn's is):
    /// the engine copy that gets them must live elsewhere.
    /// </summary>
    private static string TemporaryDirectoryHonouringFileCapabilities()
    {
        string[] candidates = [Path.GetTempPath(), "/var/tmp"];
        string? usable = candidates.FirstOrDefault(d => Directory.Exists(d) && !MountOptionsOf(d).Contains("nosuid"));
        Assert.True(usable is not null, $"every temporary directory ({string.Join(", ", candidates)}) is on a nosuid mount, where file capabilities are ignored");
        return usable!;
    }

    /// <summary>The per-mount options (/proc/self/mountinfo's sixth field) of the mount that holds <paramref name="directory"/>.</summary>
    private static string[] MountOptionsOf(string directory)
    {
        string path = Path.GetFullPath(directory).TrimEnd('/') + "/";
        (string Point, string[] Options) best = ("", []);
        foreach (string line in File.ReadLines("/proc/self/mountinfo"))
        {
            string[] fields = line.Split(' ');
            string point = fields[4].Replace("\\040", " ", StringComparison.Ordinal).TrimEnd('/') + "/";
            if (path.StartsWith(point, StringComparison.Ordinal) && point.Length >= best.Point.Length)
            {
                best = (point, fields[5].Split(','));
            }
        }
        return best.Options;
    }

    private static void AssertHoldsNothing(int pid)
    {
        IReadOnlyList<(int Tid, CapabilitySets Sets)> threads = CapabilitySets.OfAllThreads(pid);
        Assert.NotEmpty(threads);
        foreach ((int tid, CapabilitySets sets) in threads)
        {
            Assert.True(sets is { Inheritable: 0, Permitted: 0, Effective: 0, Ambient: 0 }, $"rtudpd {pid} thread {tid}: {sets}");
        }
        Assert.Equal("65534", Status(pid)["Uid"].Split('\t')[0]);
    }

    private static void AssertHoldsExactlyTheEngines(int pid)
    {
        Dictionary<string, string> status = Status(pid);
        Assert.Equal("65534", status["Uid"].Split('\t')[0]);
        Assert.Equal(EngineCapabilities, Mask(status["CapEff"]));
        Assert.Equal(EngineCapabilities, Mask(status["CapPrm"]));
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> probe, string what, Func<string> log)
        where T : struct
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (probe() is T value)
            {
                return value;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"timed out waiting for {what}:\n{log()}");
        return default;
    }

    /// <summary>rtudpd run by setpriv as nobody with <c>setpriv</c>'s capability options, serving on a unix socket.</summary>
    private sealed class UnprivilegedDaemon : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();
        private readonly GrpcChannel _channel;

        public UnprivilegedDaemon(PrivilegeSeparationTests test, string install, string[] capabilityOptions)
        {
            string run = Path.Combine(test._root, "run");
            string config = Path.Combine(test._root, "rtudp.json");
            File.WriteAllText(config, $$"""
                {
                  "Listen": { "UnixSocket": "{{run}}/rtudp.sock", "Tcp": "" },
                  "Http": { "Listen": "" },
                  "Engine": { "Directory": "{{test._engineDirectory}}", "LockMemory": true }
                }
                """);
            var info = new ProcessStartInfo(RtUdp.Testing.Tool.Require("setpriv", "util-linux"), ["--reuid=nobody", "--regid=nogroup", "--clear-groups", .. capabilityOptions, Path.Combine(install, "rtudpd"), "--config", config])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string key in info.Environment.Keys.Where(k => k.StartsWith("RTUDP_", StringComparison.Ordinal) || k is "NOTIFY_SOCKET" or "WATCHDOG_USEC" or "RUNTIME_DIRECTORY" or "JOURNAL_STREAM").ToList())
            {
                info.Environment.Remove(key);
            }
            info.Environment["XDG_RUNTIME_DIR"] = run;
            info.Environment["HOME"] = run;
            _process = Process.Start(info)!;
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue(e.Data); } };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { _output.Enqueue("stderr: " + e.Data); } };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            _channel = DaemonFixture.CreateUnixChannel(Path.Combine(run, "rtudp.sock"));
            Api = new Clients(_channel);
        }

        /// <summary>setpriv execs rtudpd, which keeps the pid through its own re-exec.</summary>
        public int Pid => _process.Id;

        public Clients Api { get; }

        public int ExitCode => _process.ExitCode;

        public string Log() => string.Join('\n', _output);

        public async Task<bool> WaitForExitAsync(TimeSpan timeout)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        /// <summary>A sender that must run SCHED_FIFO at priority 10 (RequireRealtime), toward a test socket.</summary>
        public async Task<Channel> CreateRealtimeSenderAsync()
        {
            _sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var remote = (IPEndPoint)_sink.LocalEndPoint!;
            Channel tx = await CreateWhenEngineUpAsync(Api, _process, Log, new CreateChannelRequest
            {
                ChannelId = "privsep",
                Start = true,
                Channel = new Channel
                {
                    Direction = ChannelDirection.Send,
                    Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
                    Remote = new Endpoint { Address = "127.0.0.1", Port = (uint)remote.Port },
                    Capacity = 1024,
                    MaxPayload = 64,
                    Priority = 10,
                    SendCpu = 0,
                    Flags = { ChannelFlag.RequireRealtime },
                },
            });
            Assert.Equal(ChannelState.Running, tx.State);
            return tx;
        }

        private readonly Socket _sink = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        /// <summary>Its send worker runs SCHED_FIFO (policy 1) at priority 10, pinned, memory locked; and a packet goes out.</summary>
        public async Task AssertRealtimeAndSendsAsync(Channel tx, int engine)
        {
            V1.ChannelStats stats = await Api.WaitStatsAsync(tx.Name, s => s.Sender.State == WorkerState.Running && s.Sender.ThreadId != 0, TimeSpan.FromSeconds(10));
            Assert.Contains("Fifo", stats.Sender.RealtimeMode, StringComparison.Ordinal);
            Assert.Contains("MemoryLocked", stats.Sender.RealtimeMode, StringComparison.Ordinal);
            string[] stat = ThreadStat(engine, stats.Sender.ThreadId);
            Assert.Equal("1", stat[38]); // policy: SCHED_FIFO
            Assert.Equal("10", stat[37]); // rt_priority

            await Api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("unprivileged") } } });
            byte[] buffer = new byte[64];
            _sink.ReceiveTimeout = 10_000;
            Assert.Equal("unprivileged", System.Text.Encoding.UTF8.GetString(buffer, 0, _sink.Receive(buffer)));
            await DaemonAccounting.AssertBalancedAsync(Api, tx.Name);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _ = Tmds.Linux.LibC.kill(_process.Id, Tmds.Linux.LibC.SIGTERM);
                if (!await WaitForExitAsync(TimeSpan.FromSeconds(20)))
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
            _channel.Dispose();
            _sink.Dispose();
            _process.Dispose();
        }
    }

    private static async Task<Channel> CreateWhenEngineUpAsync(Clients api, Process daemon, Func<string> log, CreateChannelRequest request)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(daemon.HasExited, "rtudpd exited:\n" + log());
            try
            {
                return (await api.Channels.CreateChannelAsync(request, deadline: DateTime.UtcNow.AddSeconds(10))).Channel;
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
            }
            catch (Grpc.Core.RpcException e)
            {
                Assert.Fail($"CreateChannel failed: {e.Status}\n{log()}");
            }
        }
    }

    private static Dictionary<string, string> Status(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1].Trim());

    private static ulong Mask(string hex) => ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>/proc/PID/task/TID/stat after "(comm) ": index 0 is the state (field 3), so field N is at N - 3.</summary>
    private static string[] ThreadStat(int pid, int tid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/task/{tid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static int ChildOf(int parent, string commandLinePart) =>
        TryChildOf(parent, commandLinePart) ?? throw new InvalidOperationException($"process {parent} has no child whose command line holds '{commandLinePart}'");

    private static int? TryChildOf(int parent, string commandLinePart)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid))
            {
                try
                {
                    string stat = File.ReadAllText($"{dir}/stat");
                    if (stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == parent.ToString(CultureInfo.InvariantCulture)
                        && File.ReadAllText($"{dir}/cmdline").Replace('\0', ' ').Contains(commandLinePart, StringComparison.Ordinal))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                }
            }
        }
        return null;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static string Run(string command, params string[] arguments)
    {
        ProcessResult result = ProcessRunner.Run(command, arguments, TimeSpan.FromSeconds(30));
        string output = result.Stdout + result.Stderr;
        Assert.True(result.ExitCode == 0, $"{command} {string.Join(' ', arguments)} failed ({result.ExitCode}): {output}");
        return output;
    }

    public void Dispose()
    {
        foreach (string directory in new[] { _root, _engineDirectory })
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
