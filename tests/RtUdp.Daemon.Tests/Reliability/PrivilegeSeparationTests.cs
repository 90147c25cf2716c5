using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Privilege separation as packaged: the gRPC-facing rtudpd runs as an unprivileged user with no
/// capabilities at all; only the engine binary carries file capabilities (setcap
/// cap_sys_nice,cap_ipc_lock,cap_net_admin=ep), which the kernel grants when rtudpd execs it (secure-exec
/// mode, which the .NET apphost runs in). Needs root (setcap, setpriv) and libcap2-bin.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PrivilegeSeparationTests : IDisposable
{
    /// <summary>CAP_NET_ADMIN (12), CAP_IPC_LOCK (14), CAP_SYS_NICE (23).</summary>
    private const ulong EngineCapabilities = (1UL << 12) | (1UL << 14) | (1UL << 23);

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"rel-privsep-{Guid.NewGuid():N}"[..24]);
    private readonly string _engineDirectory = Path.Combine("/dev/shm", $"rel-privsep-engine-{Guid.NewGuid():N}"[..28]);

    [Fact]
    public async Task An_unprivileged_daemon_without_capabilities_runs_a_file_capability_engine_whose_workers_reach_SCHED_FIFO()
    {
        // The install: rtudpd and rtudp-engine side by side in a directory of root's, the engine setcap'd.
        (string daemonBinary, _) = RtUdp.Testing.DaemonBinary.Locate();
        string install = Path.Combine(_root, "lib");
        CopyDirectory(Path.GetDirectoryName(daemonBinary)!, install);
        Run("setcap", "cap_sys_nice,cap_ipc_lock,cap_net_admin=ep", Path.Combine(install, "rtudp-engine"));
        Assert.Contains("cap_net_admin,cap_ipc_lock,cap_sys_nice=ep", Run("getcap", Path.Combine(install, "rtudp-engine")), StringComparison.Ordinal);

        // Its runtime directories belong to the service user (nobody here).
        string run = Path.Combine(_root, "run");
        Directory.CreateDirectory(run);
        Directory.CreateDirectory(_engineDirectory);
        Run("chown", "nobody:nogroup", run, _engineDirectory);
        Run("chmod", "0755", _root);
        string config = Path.Combine(_root, "rtudp.json");
        File.WriteAllText(config, $$"""
            {
              "Listen": { "UnixSocket": "{{run}}/rtudp.sock", "Tcp": "" },
              "Engine": { "Directory": "{{_engineDirectory}}", "LockMemory": true }
            }
            """);
        var info = new ProcessStartInfo("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", Path.Combine(install, "rtudpd"), "--config", config])
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
        var output = new ConcurrentQueue<string>();
        using Process daemon = Process.Start(info)!;
        daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue("stderr: " + e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        string Log() => string.Join('\n', output);
        try
        {
            using GrpcChannel channel = DaemonFixture.CreateUnixChannel(Path.Combine(run, "rtudp.sock"));
            var api = new Clients(channel);
            using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var remote = (IPEndPoint)sink.LocalEndPoint!;
            Channel tx = await CreateWhenEngineUpAsync(api, daemon, Log, new CreateChannelRequest
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

            // rtudpd: the service user, no capability in any set.
            Dictionary<string, string> daemonStatus = Status(daemon.Id);
            Assert.Equal("65534", daemonStatus["Uid"].Split('\t')[0]);
            Assert.Equal(0UL, Mask(daemonStatus["CapEff"]));
            Assert.Equal(0UL, Mask(daemonStatus["CapPrm"]));
            Assert.Equal(0UL, Mask(daemonStatus["CapAmb"]));

            // The engine: the same user, exactly the three capabilities, from the file.
            int engine = EngineChildOf(daemon.Id);
            Dictionary<string, string> engineStatus = Status(engine);
            Assert.Equal("65534", engineStatus["Uid"].Split('\t')[0]);
            Assert.Equal(EngineCapabilities, Mask(engineStatus["CapEff"]));
            Assert.Equal(EngineCapabilities, Mask(engineStatus["CapPrm"]));

            // Its send worker runs SCHED_FIFO (policy 1) at priority 10, pinned, memory locked: real-time mode in effect.
            V1.ChannelStats stats = await api.WaitStatsAsync(tx.Name, s => s.Sender.State == WorkerState.Running && s.Sender.ThreadId != 0, TimeSpan.FromSeconds(10));
            Assert.Contains("Fifo", stats.Sender.RealtimeMode, StringComparison.Ordinal);
            Assert.Contains("MemoryLocked", stats.Sender.RealtimeMode, StringComparison.Ordinal);
            string[] stat = ThreadStat(engine, stats.Sender.ThreadId);
            Assert.Equal("1", stat[38]); // policy: SCHED_FIFO
            Assert.Equal("10", stat[37]); // rt_priority

            // And it works: a packet goes out.
            await api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFromUtf8("unprivileged") } } });
            byte[] buffer = new byte[64];
            sink.ReceiveTimeout = 10_000;
            Assert.Equal("unprivileged", System.Text.Encoding.UTF8.GetString(buffer, 0, sink.Receive(buffer)));
            await DaemonAccounting.AssertBalancedAsync(api, tx.Name);
            await DaemonAccounting.DeleteBalancedAsync(api, tx.Name);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                _ = Tmds.Linux.LibC.kill(daemon.Id, Tmds.Linux.LibC.SIGTERM);
                if (!daemon.WaitForExit(TimeSpan.FromSeconds(20)))
                {
                    daemon.Kill(entireProcessTree: true);
                }
            }
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

    private static int EngineChildOf(int daemonPid)
    {
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out int pid))
            {
                try
                {
                    string stat = File.ReadAllText($"{dir}/stat");
                    if (stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == daemonPid.ToString(CultureInfo.InvariantCulture)
                        && File.ReadAllText($"{dir}/cmdline").Contains("rtudp-engine", StringComparison.Ordinal))
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                }
            }
        }
        throw new InvalidOperationException($"rtudpd {daemonPid} has no rtudp-engine child");
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
        using Process process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} failed ({process.ExitCode}): {output}");
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
