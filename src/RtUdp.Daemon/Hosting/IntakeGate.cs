namespace RtUdp.Daemon.Hosting;

/// <summary>Whether the daemon takes new packets and channel commands. Closed at SIGTERM, before the drain.</summary>
public interface IIntakeGate
{
    bool Accepting { get; }

    /// <summary>Cancelled when intake closes.</summary>
    CancellationToken Closed { get; }
}

internal sealed class IntakeGate : IIntakeGate, IDisposable
{
    private readonly CancellationTokenSource _closed = new();

    public bool Accepting => !_closed.IsCancellationRequested;

    public CancellationToken Closed => _closed.Token;

    public void Close()
    {
        if (!_closed.IsCancellationRequested)
        {
            _closed.Cancel();
        }
    }

    public void Dispose() => _closed.Dispose();
}
