using System.Diagnostics;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Capabilities;

/// <summary>HostCpus and RealtimeLimits against what the kernel says through /proc and util-linux, for real processes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostCpusTests
{
    [Theory]
    [InlineData(new int[0], "none")]
    [InlineData(new[] { 0 }, "0")]
    [InlineData(new[] { 0, 1 }, "0-1")]
    [InlineData(new[] { 5, 0, 2, 3, 4, 9 }, "0,2-5,9")]
    public void Format_writes_a_kernel_cpu_list(int[] cpus, string expected) => Assert.Equal(expected, HostCpus.Format(cpus));

    [Fact]
    public void Online_and_allowed_are_what_the_kernel_lists()
    {
        HostCpus cpus = HostCpus.Of(Environment.ProcessId);
        Assert.Equal(File.ReadAllText("/sys/devices/system/cpu/online").Trim(), HostCpus.Format(cpus.Online));
        string allowed = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))["Cpus_allowed_list:".Length..].Trim();
        Assert.Equal(allowed, HostCpus.Format(cpus.Allowed));
    }

    [Fact]
    public void Allowed_follows_taskset_and_a_gone_process_is_esrch()
    {
        string taskset = RtUdp.Testing.Tool.Require("taskset", "util-linux");
        using Process sleeper = Process.Start(new ProcessStartInfo(taskset) { ArgumentList = { "-c", "0", "sleep", "30" } })!;
        try
        {
            // taskset execs sleep once the affinity is set.
            RtUdp.Testing.Wait.Until(() => File.ReadAllText($"/proc/{sleeper.Id}/comm").Trim() == "sleep", TimeSpan.FromSeconds(10), "taskset exec'ing sleep");
            Assert.Equal([0], HostCpus.Of(sleeper.Id).Allowed);
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
        NativeCallException e = Assert.Throws<NativeCallException>(() => HostCpus.Affinity(sleeper.Id));
        Assert.Equal(Errno.ESRCH, e.Errno);
    }

    [Fact]
    public void Realtime_limits_follow_prlimit()
    {
        string prlimit = RtUdp.Testing.Tool.Require("prlimit", "util-linux");
        // A soft limit at most the hard one (raising that needs CAP_SYS_RESOURCE, which containers often lack).
        string hard = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max realtime priority", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        ulong soft = hard == "unlimited" ? 7 : Math.Min(7, ulong.Parse(hard, System.Globalization.CultureInfo.InvariantCulture));
        using Process sleeper = Process.Start(new ProcessStartInfo(prlimit) { ArgumentList = { $"--rtprio={soft}:", "sleep", "30" } })!;
        try
        {
            // prlimit execs sleep once the limit is set; wait for that (its comm turns "sleep").
            RtUdp.Testing.Wait.Until(() => File.ReadAllText($"/proc/{sleeper.Id}/comm").Trim() == "sleep", TimeSpan.FromSeconds(10), "prlimit exec'ing sleep");
            RealtimeLimits limits = RealtimeLimits.Of(sleeper.Id);
            Assert.Equal(soft, limits.RtprioLimit);
            Assert.Equal(Environment.IsPrivilegedProcess, limits.SysNice);
            Assert.Equal(limits.SysNice ? 99 : (int)soft, limits.MaxFifoPriority);
            Assert.True(limits.Permits(0));
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }
}
