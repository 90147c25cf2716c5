using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Launching;

namespace RtUdp.Engine;

/// <summary>
/// rtudp-engine: the real-time data plane. Started and supervised by rtudpd; allocates nothing
/// after start-up except while executing a channel command, so garbage collection never pauses
/// its workers. Usage: rtudp-engine [--dir DIR] [--no-mlock] [--keep-running-without-parent] [--control-version N]
/// With --launcher it is instead the small privileged process that starts engines for an rtudpd
/// that gave up its capabilities (RtUdp.Core.Launching).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--launcher")
        {
            return RunLauncher(args);
        }
        string directory = EngineOptions.DefaultDirectory();
        bool lockMemory = true;
        bool exitWithParent = true;
        string? assumeLaunchQdisc = null;
        bool clientIntakePolling = false;
        IReadOnlyList<int> housekeeping = [];
        IReadOnlyList<int> cpus = [];
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--dir" when i + 1 < args.Length:
                    directory = args[++i];
                    break;
                case "--no-mlock":
                    lockMemory = false;
                    break;
                case "--assume-launch-qdisc" when i + 1 < args.Length && args[i + 1] is "etf" or "taprio" or "fq":
                    assumeLaunchQdisc = args[++i];
                    break;
                case "--client-intake-polling":
                    clientIntakePolling = true;
                    break;
                case "--cpus" when i + 1 < args.Length:
                    try
                    {
                        cpus = RtUdp.Core.Capabilities.HostCpus.Parse(args[++i]);
                    }
                    catch (FormatException e)
                    {
                        Log($"--cpus '{args[i]}': {e.Message}");
                        return 2;
                    }
                    break;
                case "--housekeeping-cpus" when i + 1 < args.Length:
                    try
                    {
                        housekeeping = RtUdp.Core.Capabilities.HostCpus.Parse(args[++i]);
                    }
                    catch (FormatException e)
                    {
                        Log($"--housekeeping-cpus '{args[i]}': {e.Message}");
                        return 2;
                    }
                    break;
                case "--keep-running-without-parent":
                    exitWithParent = false;
                    break;
                case "--control-version" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int daemonVersion):
                    // rtudpd says which layout of engine.ctl it reads: an engine of another build refuses to start.
                    i++;
                    if (EngineControlFile.VersionProblem(daemonVersion) is { } problem)
                    {
                        Log(problem);
                        return 2;
                    }
                    break;
                default:
                    Console.Error.WriteLine($"rtudp-engine: unknown argument '{args[i]}'. Usage: rtudp-engine [--dir DIR] [--no-mlock] [--keep-running-without-parent] [--control-version N] [--cpus LIST] [--housekeeping-cpus LIST] [--assume-launch-qdisc etf|taprio|fq (testing only)] [--client-intake-polling]");
                    return 2;
            }
        }

        using var stop = new ManualResetEvent(false);
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        // Ctrl+C on a terminal reaches the whole foreground process group. A supervised engine leaves it to
        // rtudpd, which stops the engine itself after the drain; stopping here would cut the drain short and
        // look to rtudpd like a crash. A stand-alone engine stops on it.
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, exitWithParent ? Ignore : Stop);

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }

        static void Ignore(PosixSignalContext context) => context.Cancel = true;

        try
        {
            EngineHost.Run(new EngineOptions { Directory = directory, LockMemory = lockMemory, ExitWithParent = exitWithParent, AssumeLaunchQdisc = assumeLaunchQdisc, ClientIntakePolling = clientIntakePolling, HousekeepingCpus = housekeeping, Cpus = cpus }, Log, stop);
            return 0;
        }
        catch (Exception e)
        {
            Log($"fatal: {e}");
            return 1;
        }
    }

    /// <summary>rtudp-engine --launcher --control-fd FD [--close-fd FD]: started by rtudpd only.</summary>
    private static int RunLauncher(string[] args)
    {
        int controlFd = -1, closeFd = -1;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--control-fd" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd):
                    controlFd = fd;
                    i++;
                    break;
                case "--close-fd" when i + 1 < args.Length && int.TryParse(args[i + 1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int other):
                    closeFd = other;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"rtudp-engine --launcher: unknown argument '{args[i]}'. Usage: rtudp-engine --launcher --control-fd FD [--close-fd FD] (started by rtudpd)");
                    return 2;
            }
        }
        if (controlFd < 0)
        {
            Console.Error.WriteLine("rtudp-engine --launcher: --control-fd is required (started by rtudpd)");
            return 2;
        }
        try
        {
            return EngineLauncherServer.Run(controlFd, closeFd, message => Console.Error.WriteLine($"rtudp-engine launcher: {message}"));
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"rtudp-engine launcher: fatal: {e}");
            return 1;
        }
    }

    private static void Log(string message) => Console.Error.WriteLine($"rtudp-engine: {message}");
}
