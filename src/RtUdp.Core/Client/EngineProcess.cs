using System.Diagnostics;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Client;

/// <summary>
/// Starts the engine (rtudp-engine) as a child process, attaches an <see cref="EngineClient"/> to it,
/// forwards its log lines, and stops it with SIGTERM (the engine then counts what it drops).
/// </summary>
public sealed class EngineProcess : IDisposable
{
    private readonly Process _process;

    private EngineProcess(Process process, EngineClient client)
    {
        _process = process;
        Client = client;
    }

    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    public EngineClient Client { get; }

    public int Pid => _process.Id;

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
    public static EngineProcess Start(string directory, Action<string> log, string? enginePath = null, bool lockMemory = true, TimeSpan? startTimeout = null, IEnumerable<string>? wrapperCommand = null, IEnumerable<string>? engineArguments = null)
    {
        (string fileName, string[] prefix) = Locate(enginePath);
        List<string> wrapper = wrapperCommand?.ToList() ?? [];
        var info = new ProcessStartInfo(wrapper.Count > 0 ? wrapper[0] : fileName)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (wrapper.Count > 0)
        {
            foreach (string arg in wrapper.Skip(1))
            {
                info.ArgumentList.Add(arg);
            }
            info.ArgumentList.Add(fileName);
        }
        foreach (string arg in prefix)
        {
            info.ArgumentList.Add(arg);
        }
        info.ArgumentList.Add("--dir");
        info.ArgumentList.Add(directory);
        if (!lockMemory)
        {
            info.ArgumentList.Add("--no-mlock");
        }
        foreach (string arg in engineArguments ?? [])
        {
            info.ArgumentList.Add(arg);
        }

        // The engine allocates only while executing channel commands (a few hundred KB each). A 256 MiB
        // gen0 budget makes those never add up to a collection, which would pause every real-time
        // thread. Only the environment variable sets it (runtimeconfig has no knob for it).
        if (!info.Environment.ContainsKey(Gen0SizeVariable))
        {
            info.Environment[Gen0SizeVariable] = "0x10000000";
        }

        // A stale control file from a dead engine must not be mistaken for the new one.
        Memory.MappedFile.Delete(Path.Combine(directory, Control.EngineControlLayout.FileName));
        Process process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {info.FileName}.");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log(e.Data);
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log(e.Data);
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            EngineClient client = EngineClient.Attach(directory, startTimeout ?? TimeSpan.FromSeconds(30), () => !process.HasExited);
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
        _ = kill(_process.Id, SIGTERM);
        if (_process.WaitForExit(timeout))
        {
            _process.WaitForExit(); // flushes redirected output
            return true;
        }
        Kill(_process);
        return false;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill() => Kill(_process);

    private static void Kill(Process process)
    {
        try
        {
            process.Kill();
            process.WaitForExit(5000);
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
