using RtUdp.Core.Capabilities;

namespace RtUdp.Core.Tests.Capabilities;

/// <summary>HostMemory against /proc and cgroup trees laid out as the kernel does (v2 and v1), in a scratch directory.</summary>
public sealed class HostMemoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("rtudp-hostmem-").FullName;

    private string Proc => Path.Combine(_root, "proc");

    private string Cgroup => Path.Combine(_root, "cgroup");

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    private void Meminfo(long availableKb) =>
        Write(Path.Combine(Proc, "meminfo"), $"MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:   {availableKb} kB\n");

    [Fact]
    public void Without_a_limited_cgroup_it_is_MemAvailable()
    {
        Meminfo(2_000_000);
        Write(Path.Combine(Proc, "self", "cgroup"), "0::/user.slice\n");
        Write(Path.Combine(Cgroup, "user.slice", "memory.max"), "max\n");
        Write(Path.Combine(Cgroup, "user.slice", "memory.current"), "123456\n");
        HostMemory memory = HostMemory.OfCurrentProcess(Proc, Cgroup)!;
        Assert.Equal(2_000_000L * 1024, memory.AvailableBytes);
        Assert.Contains("MemAvailable", memory.Source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_v2_limit_on_an_ancestor_applies_to_its_children()
    {
        Meminfo(20_000_000);
        Write(Path.Combine(Proc, "self", "cgroup"), "0::/rtudp.slice/rtudp.service\n");
        Write(Path.Combine(Cgroup, "rtudp.slice", "memory.max"), $"{1L << 30}\n");
        Write(Path.Combine(Cgroup, "rtudp.slice", "memory.current"), $"{256L << 20}\n");
        Write(Path.Combine(Cgroup, "rtudp.slice", "rtudp.service", "memory.max"), "max\n");
        Write(Path.Combine(Cgroup, "rtudp.slice", "rtudp.service", "memory.current"), $"{200L << 20}\n");
        HostMemory memory = HostMemory.OfCurrentProcess(Proc, Cgroup)!;
        Assert.Equal(768L << 20, memory.AvailableBytes);
        Assert.Equal("memory cgroup (v2) /rtudp.slice: limit 1024 MiB, 256 MiB in use", memory.Source);
    }

    [Fact]
    public void A_v1_memory_controller_limit_applies()
    {
        Meminfo(20_000_000);
        Write(Path.Combine(Proc, "self", "cgroup"), "4:memory:/jobs/a\n3:cpuset:/\n0::/\n");
        Write(Path.Combine(Cgroup, "memory", "jobs", "a", "memory.limit_in_bytes"), $"{512L << 20}\n");
        Write(Path.Combine(Cgroup, "memory", "jobs", "a", "memory.usage_in_bytes"), $"{100L << 20}\n");
        Write(Path.Combine(Cgroup, "memory", "memory.limit_in_bytes"), "9223372036854771712\n"); // v1's "no limit"
        Write(Path.Combine(Cgroup, "memory", "memory.usage_in_bytes"), $"{5L << 30}\n");
        HostMemory memory = HostMemory.OfCurrentProcess(Proc, Cgroup)!;
        Assert.Equal(412L << 20, memory.AvailableBytes);
        Assert.Equal("memory cgroup (v1) /jobs/a: limit 512 MiB, 100 MiB in use", memory.Source);
    }

    [Fact]
    public void Without_meminfo_nothing_is_claimed()
    {
        Assert.Null(HostMemory.OfCurrentProcess(Proc, Cgroup));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
