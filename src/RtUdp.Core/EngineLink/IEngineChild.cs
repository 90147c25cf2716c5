namespace RtUdp.Core.EngineLink;

/// <summary>The engine as an operating-system process, however it was started.</summary>
public interface IEngineChild : IDisposable
{
    int Pid { get; }

    bool HasExited { get; }

    /// <summary>The exit code; 128 + N when signal N ended it; -1 when it was lost with the launcher.</summary>
    int ExitCode { get; }

    Task WaitForExitAsync(CancellationToken cancellationToken);

    /// <returns>false if it is still running after <paramref name="timeout"/>.</returns>
    bool WaitForExit(TimeSpan timeout);

    void Signal(int signo);
}
