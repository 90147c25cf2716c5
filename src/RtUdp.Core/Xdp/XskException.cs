using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Setting up an AF_XDP socket failed: which call, on which interface and queue, the errno, and what it usually means
/// there (the kernel's errnos are terse: EINVAL alone covers a dozen causes).
/// </summary>
public sealed class XskException : Exception
{
    public XskException(string call, int errno, int ifIndex, uint queueId, string? meaning)
        : base($"AF_XDP socket on ifindex {ifIndex} ({InterfaceName(ifIndex)}) queue {queueId}: {call} failed: {Native.Errno.Describe(errno)}"
            + (meaning is null ? "" : ": " + meaning))
    {
        Call = call;
        Errno = errno;
        IfIndex = ifIndex;
        QueueId = queueId;
    }

    public string Call { get; }

    public int Errno { get; }

    public int IfIndex { get; }

    public uint QueueId { get; }

    /// <summary>What <paramref name="errno"/> from <paramref name="call"/> means for an AF_XDP socket, or null when nothing more is known.</summary>
    internal static string? Explain(string call, int errno, XdpZeroCopyPolicy policy) => (call, errno) switch
    {
        ("socket(AF_XDP)", Native.Errno.EPERM or Native.Errno.EACCES) => "creating an AF_XDP socket needs CAP_NET_RAW (under systemd: install the unit's xdp drop-in, docs/xdp.md)",
        ("socket(AF_XDP)", Native.Errno.EAFNOSUPPORT) => "the kernel has no AF_XDP (CONFIG_XDP_SOCKETS)",
        (_, Native.Errno.ENOBUFS or Native.Errno.ENOMEM) when call.Contains("UMEM_REG", StringComparison.Ordinal) =>
            "the UMEM exceeds RLIMIT_MEMLOCK (raise it, or grant CAP_IPC_LOCK) or memory is short",
        (_, Native.Errno.EINVAL) when call.Contains("UMEM_REG", StringComparison.Ordinal) =>
            "the kernel rejects the UMEM geometry (frame size, headroom, or a tx_metadata_len it does not know: Linux < 6.8)",
        ("bind", Native.Errno.ENODEV) => "no interface has that index in this network namespace",
        ("bind", Native.Errno.EBUSY) => "another AF_XDP socket already owns this queue (bind to another queue, or share its UMEM)",
        ("bind", Native.Errno.EINVAL) => "the queue id is beyond the device's queues (or the bind flags/rings are inconsistent)",
        ("bind", Native.Errno.EOPNOTSUPP) when policy == XdpZeroCopyPolicy.Required =>
            "zero-copy was required but the device's driver does not support AF_XDP zero-copy (use Auto or Copy)",
        ("bind", Native.Errno.EOPNOTSUPP) => "the device does not support AF_XDP in this mode",
        ("bind", Native.Errno.ENETDOWN) => "the interface is down",
        (_, Native.Errno.EPERM) => "needs CAP_NET_RAW (and CAP_NET_ADMIN for zero-copy on some drivers)",
        _ => null,
    };

    private static string InterfaceName(int ifIndex)
    {
        // Best effort (this thread's namespace); only for the message.
        unsafe
        {
            byte* name = stackalloc byte[Libc.IFNAMSIZ];
            return Libc.if_indextoname((uint)ifIndex, name) == null
                ? "?"
                : new string((sbyte*)name);
        }
    }
}
