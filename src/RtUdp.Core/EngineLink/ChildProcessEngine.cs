using System.Diagnostics;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.EngineLink;

/// <summary>An engine started directly as this process's child.</summary>
internal sealed class ChildProcessEngine(Process process) : IEngineChild
{
    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public Task WaitForExitAsync(CancellationToken cancellationToken) => process.WaitForExitAsync(cancellationToken);

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout))
        {
            return false;
        }
        process.WaitForExit(); // flushes redirected output
        return true;
    }

    public void Signal(int signo)
    {
        if (!process.HasExited)
        {
            _ = kill(process.Id, signo);
        }
    }

    public void Dispose() => process.Dispose();
}
