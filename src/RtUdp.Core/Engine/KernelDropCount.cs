using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// Follows a socket's drop count (sk_drops: datagrams the kernel dropped at the socket, mostly because
/// its receive queue was full) and turns it into increments of a 64-bit counter. The kernel's count is
/// a u32 that wraps, and it comes from two places: SO_RXQ_OVFL on each datagram read (the count when
/// that datagram was queued, so possibly older than one read before) and getsockopt(SO_MEMINFO) (the
/// count now). Only a newer value counts: the difference as a signed 32-bit number, when positive.
/// One writer (the receive worker); allocates nothing.
/// </summary>
public sealed unsafe class KernelDropCount
{
    private uint _seen;

    /// <param name="total">The 64-bit total counted so far for this socket: the kernel's u32 count is its low 32 bits.</param>
    public KernelDropCount(long total) => _seen = unchecked((uint)total);

    /// <summary>Drops since the newest count observed so far; 0 when <paramref name="cumulative"/> is not newer.</summary>
    public int Observe(uint cumulative)
    {
        int delta = unchecked((int)(cumulative - _seen));
        if (delta <= 0)
        {
            return 0;
        }
        _seen = cumulative;
        return delta;
    }

    /// <summary>The socket's drop count now, from getsockopt(SO_MEMINFO)[SK_MEMINFO_DROPS]; false with the errno if that failed.</summary>
    public static bool TryRead(int fd, out uint drops, out int error)
    {
        uint* meminfo = stackalloc uint[Libc.SK_MEMINFO_VARS];
        Tmds.Linux.socklen_t length = (uint)(Libc.SK_MEMINFO_VARS * sizeof(uint));
        if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) == -1)
        {
            drops = 0;
            error = Marshal.GetLastPInvokeError();
            return false;
        }
        if (length < (Libc.SK_MEMINFO_DROPS + 1) * sizeof(uint))
        {
            drops = 0;
            error = Errno.EINVAL;
            return false;
        }
        drops = meminfo[Libc.SK_MEMINFO_DROPS];
        error = 0;
        return true;
    }
}
