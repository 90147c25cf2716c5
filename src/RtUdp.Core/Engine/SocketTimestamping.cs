using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>The SO_TIMESTAMPING flags for a channel's socket, from the mode in effect.</summary>
public static unsafe class SocketTimestamping
{
    public static int FlagsFor(TimestampMode mode, bool sends, bool receives)
    {
        if (mode == TimestampMode.Off)
        {
            return 0;
        }
        int flags = Libc.SOF_TIMESTAMPING_SOFTWARE;
        if (receives)
        {
            flags |= Libc.SOF_TIMESTAMPING_RX_SOFTWARE;
        }
        if (sends)
        {
            // OPT_ID numbers each datagram's stamps; OPT_TSONLY keeps payloads off the error queue.
            flags |= Libc.SOF_TIMESTAMPING_TX_SOFTWARE | Libc.SOF_TIMESTAMPING_TX_SCHED
                | Libc.SOF_TIMESTAMPING_OPT_ID | Libc.SOF_TIMESTAMPING_OPT_TSONLY;
        }
        if (mode == TimestampMode.Hardware)
        {
            flags |= Libc.SOF_TIMESTAMPING_RAW_HARDWARE;
            if (receives)
            {
                flags |= Libc.SOF_TIMESTAMPING_RX_HARDWARE;
            }
            if (sends)
            {
                // Software and hardware SND stamps as separate messages, so both stages are seen.
                flags |= Libc.SOF_TIMESTAMPING_TX_HARDWARE | Libc.SOF_TIMESTAMPING_OPT_TX_SWHW;
            }
        }
        return flags;
    }

    public static void Set(int fd, int flags)
    {
        Errno.Check(setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(int)), "setsockopt(SO_TIMESTAMPING)");
    }

    /// <summary>
    /// Restarts the kernel's OPT_ID numbering at 0: it restarts only when OPT_ID is switched on, so
    /// switch it off first. The send worker does this as it starts, so its own count matches.
    /// </summary>
    public static void RestartIds(int fd, int flags)
    {
        if ((flags & Libc.SOF_TIMESTAMPING_OPT_ID) == 0)
        {
            return;
        }
        Set(fd, flags & ~Libc.SOF_TIMESTAMPING_OPT_ID);
        Set(fd, flags);
    }
}
