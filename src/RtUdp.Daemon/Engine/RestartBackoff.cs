namespace RtUdp.Daemon.Engine;

/// <summary>
/// How long to wait before starting the engine again: doubling from a quarter second up to the
/// configured maximum, and back to the start after an engine that ran long enough to count as stable.
/// </summary>
internal sealed class RestartBackoff(TimeSpan max)
{
    private static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);

    /// <summary>The wait before the next start.</summary>
    public TimeSpan Delay { get; private set; } = First;

    /// <summary>An engine died after running <paramref name="ran"/>: a stable one starts the back-off over.</summary>
    public void EngineRan(TimeSpan ran)
    {
        if (ran > StableRun)
        {
            Delay = First;
        }
    }

    /// <summary>Waits <see cref="Delay"/>, then lengthens it for the next time.</summary>
    /// <returns>false when the daemon stopped meanwhile.</returns>
    public async Task<bool> WaitAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(Delay, token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        Delay = TimeSpan.FromTicks(Math.Min(Delay.Ticks * 2, max.Ticks));
        return true;
    }
}
