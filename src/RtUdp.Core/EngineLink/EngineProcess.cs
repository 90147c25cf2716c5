using System.Diagnostics;
using RtUdp.Core.Launching;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.EngineLink;

/// <summary>
/// Starts the engine (rtudp-engine) as a child process, attaches an <see cref="EngineConnection"/> to it,
/// forwards its log lines, and stops it with SIGTERM (the engine then counts what it drops).
/// With an <see cref="EngineLauncher"/> the engine is the launcher's child instead, started with the
/// capabilities this process no longer holds.
/// </summary>
public sealed class EngineProcess : IDisposable
{
    private readonly IEngineChild _process;

    private EngineProcess(IEngineChild process, EngineConnection client)
    {
        _process = process;
        Client = client;
    }

    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>256 MiB: see <see cref="Start"/>.</summary>
    public const string DefaultGen0Size = "0x10000000";

    public EngineConnection Client { get; }

    public int Pid => _process.Pid;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Finds the engine next to this assembly: the apphost if present, else the dll via dotnet.</summary>
    public static (string FileName, string[] PrefixArgs) Locate(string? explicitPath = null)
    {
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return explicitPath.EndsWith(".dll", StringComparison.Ordinal) ? ("dotnet", [explicitPath]) : (explicitPath, []);
        }
        string directory = AppContext.BaseDirectory;
        string apphost = Path.Combine(directory, "rtudp-engine");
        if (File.Exists(apphost))
        {
            return (apphost, []);
        }
        string dll = Path.Combine(directory, "rtudp-engine.dll");
        if (File.Exists(dll))
        {
            return ("dotnet", [dll]);
        }
        throw new FileNotFoundException($"rtudp-engine was not found in {directory}; set the engine path explicitly.");
    }

    /// <param name="engineArguments">More rtudp-engine arguments (e.g. --assume-launch-qdisc for tests).</param>
    /// <param name="wrapperCommand">
    /// A command that runs the engine by exec'ing its arguments, e.g. <c>ip netns exec NS</c>: the engine
    /// command line is appended to it. The wrapper must exec (not fork) so that SIGTERM reaches the engine.
    /// </param>
    /// <param name="launcher">Start the engine through this launcher rather than as a child (the wrapper command and engine path then do not apply).</param>
    public static EngineProcess Start(string directory, Action<string> log, string? enginePath = null, bool lockMemory = true, TimeSpan? startTimeout = null, IEnumerable<string>? wrapperCommand = null, IEnumerable<string>? engineArguments = null, EngineLauncher? launcher = null)
    {
        TimeSpan timeout = startTimeout ?? TimeSpan.FromSeconds(30);
        List<string> arguments = ["--dir", directory, "--control-version", Contract.Control.EngineControlLayout.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (!lockMemory)
        {
            arguments.Add("--no-mlock");
        }
        arguments.AddRange(engineArguments ?? []);
        // A stale control file from a dead engine must not be mistaken for the new one.
        Contract.Memory.MappedFile.Delete(Path.Combine(directory, Contract.Control.EngineControlLayout.FileName));
        if (launcher is not null)
        {
            return Attach(launcher.Launch(arguments, log, timeout), directory, timeout);
        }

        (string fileName, string[] prefix) = Locate(enginePath);
        List<string> wrapper = wrapperCommand?.ToList() ?? [];
        var info = new ProcessStartInfo(wrapper.Count > 0 ? wrapper[0] : fileName)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // wrapper ARGS... ENGINE PREFIX... ENGINE ARGS...
        foreach (string arg in (wrapper.Count > 0 ? [.. wrapper.Skip(1), fileName] : Array.Empty<string>()).Concat(prefix).Concat(arguments))
        {
            info.ArgumentList.Add(arg);
        }

        // The engine allocates only while executing channel commands (a few hundred KB each). A 256 MiB
        // gen0 budget makes those never add up to a collection, which would pause every real-time
        // thread. Only the environment variable sets it (runtimeconfig has no knob for it).
        if (!info.Environment.ContainsKey(Gen0SizeVariable))
        {
            info.Environment[Gen0SizeVariable] = DefaultGen0Size;
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        DataReceivedEventHandler forward = (_, e) =>
        {
            if (e.Data is not null)
            {
                log(e.Data);
            }
        };
        process.ErrorDataReceived += forward;
        process.OutputDataReceived += forward;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return Attach(new ChildProcessEngine(process), directory, timeout);
    }

    private static EngineProcess Attach(IEngineChild process, string directory, TimeSpan timeout)
    {
        try
        {
            EngineConnection client = EngineConnection.Attach(directory, timeout, () => !process.HasExited);
            return new EngineProcess(process, client);
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Asks the engine to stop (SIGTERM) and waits; kills it if it does not exit in time.</summary>
    public bool Stop(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }
        _process.Signal(SIGTERM);
        if (_process.WaitForExit(timeout))
        {
            return true;
        }
        Kill(_process);
        return false;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill() => Kill(_process);

    private static void Kill(IEngineChild process)
    {
        try
        {
            process.Signal(SIGKILL);
            process.WaitForExit(TimeSpan.FromSeconds(5));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(10));
        Client.Dispose();
        _process.Dispose();
    }
}
