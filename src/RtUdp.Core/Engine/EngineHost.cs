using System.Runtime.InteropServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Contract.Memory;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// The engine process's life: lock memory, publish the control file, run the conductor until told
/// to stop, then stop every channel (what was queued is counted as dropped) and remove the files.
/// </summary>
public static class EngineHost
{
    public static void Run(EngineOptions options, Action<string> log, WaitHandle stop)
    {
        Directory.CreateDirectory(options.Directory);
        // Watch the parent by polling rather than with PR_SET_PDEATHSIG: that signal fires when the
        // *thread* that started us exits, and the daemon starts the engine from a pool thread the
        // runtime may retire at any time.
        int parent = options.ExitWithParent ? getppid() : 0;

        bool memoryLocked = LockMemory(options, log);
        // The kernel stamps received packets only while some socket asks for it, and switching that on
        // is deferred work: a channel's first packets could arrive unstamped. So one socket asks for
        // the engine's whole life (closing and reopening it would also interrupt every CPU).
        int stampKeeper = OpenStampKeeper(log);
        PublishCapabilities(options.Directory, log);
        // Before the control file (before any channel): steering programs dead engines left attached.
        foreach (string line in Xdp.XdpLeftovers.Clean())
        {
            log(line);
        }
        // Before the control file: rtudpd attaches when that appears, and checks CPUs against the plan's.
        var cpus = new Cpus.CpuPlan(ConfineToHousekeeping(options, log), options.HousekeepingCpus);
        PublishInitialPlan(options, cpus, log);
        string controlPath = Path.Combine(options.Directory, EngineControlLayout.FileName);
        using EngineControlFile control = EngineControlFile.Create(controlPath, memoryLocked);

        // Same-host clients: their intake agent runs for the engine's life, on the housekeeping CPUs like the
        // conductor (both are started from this thread, confined above); engine.sock brings their memfds.
        // Without futex_waitv (Linux before 5.16) the agent cannot sleep on every client's doorbell at once: it polls.
        using var intake = new Clients.ClientIntakeAgent(options.ClientIntakePolling || !Libc.FutexWaitvAvailable ? Clients.ClientIntakeWake.Polling : Clients.ClientIntakeWake.FutexWaitv);
        log($"same-host client intake: {intake.DescribeWake()}{(options.ClientIntakePolling ? " (asked for)" : "")}");
        using var intakeRunner = new AgentRunner(intake);
        using Clients.DescriptorInbox? inbox = ListenForDescriptors(options.Directory, log);
        using var conductor = new EngineConductor(options, control, memoryLocked, log, cpus, intake, inbox);
        using var runner = new AgentRunner(conductor);
        intakeRunner.Start();
        runner.Start();
        control.State = EngineState.Running;
        log($"engine {Environment.ProcessId} running; control file {controlPath}; memory {(memoryLocked ? "locked" : "NOT locked")}");

        while (!stop.WaitOne(ParentPollInterval))
        {
            if (parent != 0 && getppid() != parent)
            {
                log($"parent process {parent} is gone: stopping");
                break;
            }
            if (AgentFailures.Describe(runner, intakeRunner) is { } failure)
            {
                // Not the orderly stop: that deletes the channels whose regions rtudpd reads to count this engine's
                // loss. Exiting as a crash does leaves them, and every same-host client's ring as it was, for the next engine.
                log($"{failure}; exiting ({AgentFailures.ExitCode}) so that rtudpd starts a new engine, restores the channels and reattaches the clients");
                Environment.Exit(AgentFailures.ExitCode);
            }
        }

        control.State = EngineState.Stopping;
        log("engine stopping");
        runner.Stop(TimeSpan.FromSeconds(10));
        // Detaches the clients (the intake agent, still running, lets go of them), then deletes the channels.
        conductor.Dispose();
        if (intakeRunner.Failure is { } intakeFailure)
        {
            log($"the client intake agent failed: {intakeFailure}");
        }
        intakeRunner.Stop(TimeSpan.FromSeconds(5));
        control.State = EngineState.Stopped;
        if (stampKeeper >= 0)
        {
            _ = close(stampKeeper);
        }
        MappedFile.Delete(controlPath);
        log("engine stopped");
    }

    /// <summary>
    /// Moves the engine's own threads (the conductor is started after, from this thread) to the housekeeping CPUs,
    /// and returns the CPUs the engine may use as they were before: the workers' to plan.
    /// </summary>
    private static IReadOnlyList<int> ConfineToHousekeeping(EngineOptions options, Action<string> log)
    {
        IReadOnlyList<int> allowed;
        if (options.Cpus.Count > 0)
        {
            try
            {
                Cpus.ProcessAffinity.ConfineAllThreads(options.Cpus);
            }
            catch (NativeCallException e)
            {
                log($"taking CPUs {Capabilities.HostCpus.Format(options.Cpus)} failed: {e.Message}; planning with the CPUs inherited");
            }
        }
        try
        {
            allowed = Capabilities.HostCpus.Of(Environment.ProcessId).Allowed;
        }
        catch (NativeCallException e)
        {
            log($"reading the engine's CPUs failed: {e.Message}; planning with all {Environment.ProcessorCount}");
            allowed = [.. Enumerable.Range(0, Environment.ProcessorCount)];
        }
        if (options.HousekeepingCpus.Count == 0)
        {
            return allowed;
        }
        int[] usable = [.. options.HousekeepingCpus.Intersect(allowed)];
        if (usable.Length == 0)
        {
            log($"housekeeping CPUs {Capabilities.HostCpus.Format(options.HousekeepingCpus)} are outside the engine's CPUs ({Capabilities.HostCpus.Format(allowed)}): ignored");
            return allowed;
        }
        try
        {
            Cpus.ProcessAffinity.ConfineAllThreads(usable);
            log($"engine threads on housekeeping CPUs {Capabilities.HostCpus.Format(usable)}; workers planned over CPUs {Capabilities.HostCpus.Format(allowed)}");
        }
        catch (NativeCallException e)
        {
            log($"confining the engine to its housekeeping CPUs failed: {e.Message}");
        }
        return allowed;
    }

    /// <summary>The plan before any channel; the conductor, started from this thread, runs where it does.</summary>
    private static void PublishInitialPlan(EngineOptions options, Cpus.CpuPlan cpus, Action<string> log)
    {
        try
        {
            cpus.Report(Capabilities.HostCpus.Affinity(Libc.gettid()), []).WriteTo(options.Directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeCallException)
        {
            log($"writing {Cpus.CpuPlanReport.FileName} failed: {e.Message}");
        }
    }

    private static int OpenStampKeeper(Action<string> log)
    {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            log($"could not open the RX timestamp keeper socket: {Errno.Describe(Marshal.GetLastPInvokeError())}");
            return -1;
        }
        try
        {
            SocketTimestamping.Set(fd, Libc.SOF_TIMESTAMPING_RX_SOFTWARE | Libc.SOF_TIMESTAMPING_SOFTWARE);
            return fd;
        }
        catch (NativeCallException e)
        {
            log($"could not switch on RX timestamping: {e.Message}");
            _ = close(fd);
            return -1;
        }
    }

    private static Clients.DescriptorInbox? ListenForDescriptors(string directory, Action<string> log)
    {
        string path = Path.Combine(directory, EngineControlLayout.SocketFileName);
        try
        {
            return Clients.DescriptorInbox.Listen(path);
        }
        catch (Exception e) when (e is NativeCallException or IOException or ArgumentException)
        {
            log($"listening on {path} failed: {e.Message}; same-host clients cannot attach");
            return null;
        }
    }

    private static readonly TimeSpan ParentPollInterval = TimeSpan.FromMilliseconds(200);

    public const string CapabilitiesFileName = "capabilities.json";

    /// <summary>Logs what this host and its NICs can do and leaves it as JSON beside the control file for the daemon.</summary>
    private static void PublishCapabilities(string directory, Action<string> log)
    {
        try
        {
            Capabilities.CapabilityReport report = Capabilities.CapabilityProbe.Run();
            foreach (string line in report.ToLogLines())
            {
                log(line);
            }
            string path = Path.Combine(directory, CapabilitiesFileName);
            string temporary = path + ".tmp";
            File.WriteAllText(temporary, report.ToJson());
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NativeCallException or InvalidDataException)
        {
            log($"capability probe failed: {e.Message}");
        }
    }

    private static bool LockMemory(EngineOptions options, Action<string> log)
    {
        if (!options.LockMemory)
        {
            log("memory locking disabled by configuration: page faults may delay packets");
            return false;
        }
        // MCL_ONFAULT: lock pages as they are touched rather than populating every reservation
        // (thread stacks, GC reservations) up front; the rings are prefaulted explicitly.
        if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0)
        {
            return true;
        }
        int error = Marshal.GetLastPInvokeError();
        log($"mlockall failed ({Errno.Describe(error)}): running with unlocked memory (degraded); grant CAP_IPC_LOCK or raise LimitMEMLOCK");
        return false;
    }
}
