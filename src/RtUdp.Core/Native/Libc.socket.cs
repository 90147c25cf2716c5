using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RtUdp.Core.Native;

/// <summary>
/// &lt;sys/socket.h&gt; batch I/O, plus the &lt;asm-generic/socket.h&gt; option numbers that
/// Tmds.LibC does not carry (it includes that header through this one, so they live together).
/// </summary>
public static unsafe partial class Libc
{
    /// <summary>Equals SO_TIMESTAMPING (in Tmds.LibC) on 64-bit targets, where time_t already has 64 bits.</summary>
    public const int SO_TIMESTAMPING_OLD = 37;
    public const int SO_TXTIME = 61;
    public const int SCM_TXTIME = SO_TXTIME;
    public const int SO_TIMESTAMPNS_NEW = 64;
    public const int SO_TIMESTAMPING_NEW = 65;

    /// <summary>The NAPI id of the device queue the socket's last datagram came from; 0 for none (loopback, a device without NAPI).</summary>
    public const int SO_INCOMING_NAPI_ID = 56;

    /// <summary>Busy-poll: the device's interrupts stay deferred while the application polls (needs CAP_NET_ADMIN).</summary>
    public const int SO_PREFER_BUSY_POLL = 69;

    /// <summary>Busy-poll: most packets one poll of the device's queue takes (above the default needs CAP_NET_ADMIN).</summary>
    public const int SO_BUSY_POLL_BUDGET = 70;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int sendmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags);

    /// <remarks>
    /// The kernel checks <paramref name="timeout"/> only after each datagram arrives, so it cannot
    /// bound a wait for the first one; use SO_RCVTIMEO or poll for that.
    /// </remarks>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int recvmmsg(int fd, mmsghdr* msgvec, uint vlen, int flags, timespec* timeout);
}
