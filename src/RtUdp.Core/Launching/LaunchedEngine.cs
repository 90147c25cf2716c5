using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Launching;

/// <summary>An engine started by the launcher: its exit comes as a message, its signals go as one.</summary>
public sealed class LaunchedEngine : IEngineChild
{
    private readonly EngineLauncher _launcher;
    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal LaunchedEngine(EngineLauncher launcher, int pid, Action<string> log)
    {
        _launcher = launcher;
        Pid = pid;
        Log = log;
    }

    public int Pid { get; }

    internal Action<string> Log { get; }

    public bool HasExited => _exit.Task.IsCompleted;

    public int ExitCode => HasExited ? _exit.Task.Result : throw new InvalidOperationException($"engine {Pid} has not exited");

    public Task WaitForExitAsync(CancellationToken cancellationToken) => _exit.Task.WaitAsync(cancellationToken);

    public bool WaitForExit(TimeSpan timeout) => _exit.Task.Wait(timeout);

    public void Signal(int signo)
    {
        if (!HasExited)
        {
            _launcher.SendSignal(signo);
        }
    }

    internal void SetExited(int code) => _exit.TrySetResult(code);

    public void Dispose()
    {
    }
}
