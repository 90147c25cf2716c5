using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// An eventfd a receive worker polls beside its sockets: <see cref="Signal"/> (the runner's stop request, from
/// another thread) ends the worker's poll at once instead of at its timeout.
/// </summary>
public sealed unsafe class WakeEvent : IDisposable
{
    public WakeEvent() => Fd = Errno.Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");

    public int Fd { get; }

    public void Signal()
    {
        ulong one = 1;
        _ = write(Fd, &one, sizeof(ulong));
    }

    public void Dispose() => _ = close(Fd);
}
