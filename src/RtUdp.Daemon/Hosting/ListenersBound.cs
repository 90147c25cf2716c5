namespace RtUdp.Daemon.Hosting;

/// <summary>
/// Completes once Kestrel has bound every listener and the unix socket has its mode and group. READY=1
/// waits for it: systemd starts the units ordered after rtudp as soon as READY=1 arrives, and they must
/// find the socket there and usable.
/// </summary>
internal sealed class ListenersBound
{
    private readonly TaskCompletionSource _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => _bound.Task;

    public void Complete() => _bound.TrySetResult();
}
