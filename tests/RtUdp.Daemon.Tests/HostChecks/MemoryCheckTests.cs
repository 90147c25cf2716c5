using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.HostChecks;

/// <summary>
/// A channel larger than the memory the engine has left is refused at create, naming the field and where the
/// figure came from; smaller ones are made. Needs root (it puts the daemon in a memory cgroup of its own, v1
/// or v2, with a 768 MiB limit); CI runs as root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MemoryCheckTests(Xunit.Abstractions.ITestOutputHelper log)
{
    [Fact]
    public async Task A_channel_larger_than_the_memory_cgroup_leaves_is_resource_exhausted_naming_capacity()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return; // needs root to make a cgroup; CI runs as root
        }
        using MemoryCgroup? cgroup = MemoryCgroup.TryCreate(768L << 20, out string? why);
        if (cgroup is null)
        {
            // A container without a writable memory controller (e.g. systemd-nspawn's read-only /sys/fs/cgroup).
            log.WriteLine($"SKIPPED: no memory cgroup can be made here: {why}");
            return;
        }
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: cgroup.Wrapper);
        Clients api = daemon.Unix;

        // 16,777,216 packets: a 1 GiB TX ring, more than the 768 MiB the cgroup allows all of rtudpd.
        var big = new Channel { Direction = ChannelDirection.Send, Remote = new Endpoint { Address = "127.0.0.1", Port = 5000 }, Capacity = 16_777_216, Priority = 0 };
        string id = Clients.UniqueId("huge");
        Google.Rpc.Status refused = await RpcAssert.FailsAsync(StatusCode.ResourceExhausted, () => api.Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = id, Channel = big }).ResponseAsync);
        Assert.StartsWith("channel.capacity: the channel needs 10", refused.Message, StringComparison.Ordinal); // 1 GiB and more
        Assert.Contains($"memory cgroup ({cgroup.Version}) ", refused.Message, StringComparison.Ordinal);
        Assert.Contains("lower capacity, max_payload", refused.Message, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => api.Channels.GetChannelAsync(new GetChannelRequest { Name = "channels/" + id }).ResponseAsync);

        // The daemon goes on, and a channel that fits is made.
        Channel made = await api.CreateSenderAsync(Clients.UniqueId("fits"), new Endpoint { Address = "127.0.0.1", Port = 5000 }, configure: c => c.Capacity = 4096);
        await api.DeleteAsync(made);
    }

    /// <summary>A memory cgroup of our own (v2 where mounted, else v1's memory controller), removed on dispose.</summary>
    private sealed class MemoryCgroup : IDisposable
    {
        private readonly string _path;

        private MemoryCgroup(string path, string version)
        {
            _path = path;
            Version = version;
        }

        public string Version { get; }

        /// <summary>Moves the shell into the cgroup, then execs rtudpd (its engine inherits it).</summary>
        public string[] Wrapper => ["/bin/sh", "-c", $"echo $$ > {_path}/cgroup.procs && exec \"$@\"", "sh"];

        public static MemoryCgroup? TryCreate(long limit, out string? why)
        {
            try
            {
                why = null;
                return Create(limit);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                why = e.Message;
                return null;
            }
        }

        private static MemoryCgroup Create(long limit)
        {
            string name = "rtudp-test-" + Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()));
            if (File.Exists("/sys/fs/cgroup/cgroup.controllers") && File.ReadAllText("/sys/fs/cgroup/cgroup.controllers").Contains("memory", StringComparison.Ordinal))
            {
                return Make(Path.Combine("/sys/fs/cgroup", name), "memory.max", limit, "v2");
            }
            return Make(Path.Combine("/sys/fs/cgroup/memory", name), "memory.limit_in_bytes", limit, "v1");
        }

        private static MemoryCgroup Make(string path, string limitFile, long limit, string version)
        {
            Directory.CreateDirectory(path);
            var cgroup = new MemoryCgroup(path, version);
            try
            {
                File.WriteAllText(Path.Combine(path, limitFile), limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return cgroup;
            }
            catch
            {
                cgroup.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            // The daemon and its engine have exited: the empty cgroup can go.
            for (int i = 0; i < 50 && Directory.Exists(_path); i++)
            {
                try
                {
                    Directory.Delete(_path);
                }
                catch (IOException)
                {
                    Thread.Sleep(100); // still has a process leaving it
                }
            }
        }
    }
}
