namespace RtUdp.Package.Tests;

/// <summary>
/// The package under a real systemd: packaging/e2e/systemd-e2e.sh boots a minimal Debian (cached
/// rootfs) with systemd-nspawn, installs the .deb with dpkg and checks the service from inside.
/// Needs root, mmdebstrap and systemd-container (scripts/install-test-deps.sh installs them).
/// </summary>
[Collection(PackageCollection.Name)]
public sealed class SystemdEndToEndTests(PackageFixture package)
{
    /// <summary>Checks that must have run and passed: a check the script silently dropped fails here.</summary>
    private static readonly string[] RequiredPasses =
    [
        "PASS: dpkg -i installs the package",
        "PASS: the unit is enabled by the package",
        "PASS: the package starts the service (active)",
        "PASS: the engine has file capabilities",
        "PASS: READY=1 status names both configured channels running",
        "PASS: systemd reports Started only after the channels were armed (READY=1 last)",
        "PASS: the engine runs as user rtudp",
        "PASS: the engine locked its memory",
        "PASS: rtudpd restarts a killed engine (status counts 1 restart and the loss)",
        "PASS: journal: the engine's death (SIGKILL: exit code 137) at priority err",
        "PASS: journal: the loss at priority err",
        "PASS: journal: 'Engine N running' at priority info",
        "PASS: journal: priority prefixes were taken by journald, not left in the text",
        "PASS: STATUS names the stalled engine",
        "PASS: rtudpd kills the stalled engine and starts another",
        "PASS: one SIGSTOP, one restart: the service itself is not restarted",
        "PASS: journal: rtudpd logged the stall and killed the engine",
        "PASS: journal: rtudpd never withheld WATCHDOG=1",
        "PASS: the watchdog fails the service and systemd restarts it",
        "PASS: journal: systemd saw the watchdog timeout",
        "PASS: restart: new main process, configured channels running",
        "PASS: stopped: inactive, result success, exit status 0",
        "PASS: journal: intake closed and drained",
        "PASS: journal: the engine stopped cleanly",
        "PASS: systemd-analyze security rtudp inside: exposure",
        "PASS: dpkg --purge removes the configuration, the user and the group",
    ];

    [Fact]
    public void The_service_behaves_under_a_real_systemd()
    {
        RtUdp.Testing.Tool.Require("mmdebstrap", "mmdebstrap");
        RtUdp.Testing.Tool.Require("systemd-nspawn", "systemd-container");
        string script = Path.Combine(package.Repository, "packaging/e2e/systemd-e2e.sh");
        ProcessResult run = ProcessRunner.Run(script, [package.DebPath], TimeSpan.FromMinutes(20));
        // The whole transcript goes to the test log: it is the evidence.
        Console.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, $"systemd-e2e.sh failed (exit {run.ExitCode}):\n{run.Output}");
        Assert.Matches(@"(?m)^E2E RESULT: \d+ passed, 0 failed, \d+ skipped$", run.Output);
        Assert.DoesNotContain("FAIL: ", run.Output, StringComparison.Ordinal);
        foreach (string pass in RequiredPasses)
        {
            Assert.Contains(pass, run.Output, StringComparison.Ordinal);
        }
        if (package.HasCtl)
        {
            Assert.Contains("PASS: rtudpctl recv rx prints hello", run.Output, StringComparison.Ordinal);
            Assert.Contains("PASS: rtudpctl stats tx --json counts the packet sent", run.Output, StringComparison.Ordinal);
            Assert.Contains("PASS: rtudpctl health exits 1 naming the stalled engine", run.Output, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("SKIPPED: rtudpctl not packaged", run.Output, StringComparison.Ordinal);
        }
    }
}
