using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Net;

/// <summary>The peer of a unix socket as the kernel recorded it at connect (SO_PEERCRED).</summary>
public readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid);

/// <summary>
/// AF_UNIX SOCK_SEQPACKET sockets with file descriptors passed in SCM_RIGHTS: the shared-memory broker's
/// transport (docs/shm-clients.md), used by rtudpd's broker and by the client library alike. Every call
/// checks its result; failures throw <see cref="NativeCallException"/> naming the call and the path.
/// </summary>
public static unsafe class UnixSeqPacket
{
    /// <summary>sizeof(sockaddr_un.sun_path): a longer path does not fit the address.</summary>
    public const int MaxPathBytes = 108;

    /// <summary>Connects a SOCK_SEQPACKET | SOCK_CLOEXEC socket to <paramref name="path"/>; returns its fd.</summary>
    public static int Connect(string path)
    {
        int fd = Errno.Check(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
        try
        {
            byte* address = stackalloc byte[2 + MaxPathBytes];
            int length = FillAddress(address, path);
            while (connect(fd, (sockaddr*)address, (uint)length) == -1)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    Errno.ThrowFor(errno, $"connect(\"{path}\")");
                }
            }
            return fd;
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    }

    /// <summary>Binds and listens on <paramref name="path"/> (which must not exist); returns the listening fd.</summary>
    public static int Listen(string path, int backlog)
    {
        int fd = Errno.Check(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
        try
        {
            byte* address = stackalloc byte[2 + MaxPathBytes];
            int length = FillAddress(address, path);
            Errno.Check(bind(fd, (sockaddr*)address, (uint)length), $"bind(\"{path}\")");
            Errno.Check(listen(fd, backlog), $"listen(\"{path}\")");
            return fd;
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for <paramref name="fd"/> to be readable (or hung up); false on timeout.</summary>
    public static bool WaitReadable(int fd, int timeoutMs, string what)
    {
        pollfd pfd = default;
        pfd.fd = fd;
        pfd.events = POLLIN;
        while (true)
        {
            int ready = poll(&pfd, 1, timeoutMs);
            if (ready >= 0)
            {
                return ready > 0;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != Errno.EINTR)
            {
                Errno.ThrowFor(errno, $"poll({what})");
            }
        }
    }

    /// <summary>accept4(SOCK_CLOEXEC); -1 when no connection was pending (EAGAIN) or the peer went before it was taken.</summary>
    public static int Accept(int listenFd, string path)
    {
        while (true)
        {
            int fd = accept4(listenFd, null, null, SOCK_CLOEXEC);
            if (fd >= 0)
            {
                return fd;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.EINTR)
            {
                continue;
            }
            if (errno == Errno.EAGAIN || errno == ECONNABORTED)
            {
                return -1;
            }
            Errno.ThrowFor(errno, $"accept4(\"{path}\")");
        }
    }

    /// <summary>Sends one message, with <paramref name="passFd"/> in SCM_RIGHTS when it is ≥ 0. MSG_NOSIGNAL: a gone peer is EPIPE, not SIGPIPE.</summary>
    public static void Send(int fd, ReadOnlySpan<byte> message, int passFd, string what)
    {
        int sent = DescriptorPassing.Send(fd, message, passFd, out int errno);
        if (sent < 0)
        {
            Errno.ThrowFor(errno, $"sendmsg({what})");
        }
        if (sent != message.Length)
        {
            Errno.ThrowFor(Errno.EMSGSIZE, $"sendmsg({what}): {sent} of {message.Length} bytes");
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>; returns its length (0: the peer closed), or -1 when it
    /// did not fit (MSG_TRUNC: the rest is gone, the message is not to be trusted). A descriptor that came with it
    /// is returned in <paramref name="receivedFd"/> (-1: none; any further ones are closed).
    /// </summary>
    public static int Receive(int fd, Span<byte> buffer, out int receivedFd, string what)
    {
        int received = DescriptorPassing.Receive(fd, buffer, out receivedFd, out int errno, out bool truncated);
        if (received < 0)
        {
            if (errno == ECONNRESET)
            {
                return 0;
            }
            Errno.ThrowFor(errno, $"recvmsg({what})");
        }
        return truncated ? -1 : received;
    }

    /// <summary>The peer's pid, uid and gid (SO_PEERCRED).</summary>
    public static PeerCredentials Peer(int fd)
    {
        ucred credentials = default;
        socklen_t length = (uint)sizeof(ucred);
        Errno.Check(getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length), "getsockopt(SO_PEERCRED)");
        return new PeerCredentials(credentials.pid, credentials.uid, credentials.gid);
    }

    /// <summary>The peer's supplementary groups at connect (SO_PEERGROUPS, Linux 4.13).</summary>
    public static uint[] PeerGroups(int fd)
    {
        uint capacity = 64 * sizeof(uint);
        while (true)
        {
            uint[] groups = new uint[capacity / sizeof(uint)];
            socklen_t length = capacity;
            fixed (uint* g = groups)
            {
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &length) == 0)
                {
                    return groups.AsSpan(0, (int)((uint)length / sizeof(uint))).ToArray();
                }
            }
            int errno = Marshal.GetLastPInvokeError();
            capacity = length;
            if (errno != Errno.ERANGE || capacity <= groups.Length * sizeof(uint))
            {
                Errno.ThrowFor(errno, "getsockopt(SO_PEERGROUPS)");
            }
        }
    }

    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }

    private static int FillAddress(byte* address, string path)
    {
        int bytes = Encoding.UTF8.GetByteCount(path);
        if (bytes == 0 || bytes >= MaxPathBytes)
        {
            throw new ArgumentException($"'{path}' does not fit a unix socket address (1 to {MaxPathBytes - 1} bytes)", nameof(path));
        }
        *(ushort*)address = (ushort)AF_UNIX;
        Span<byte> sunPath = new(address + 2, MaxPathBytes);
        sunPath.Clear();
        Encoding.UTF8.GetBytes(path, sunPath);
        return 2 + bytes + 1;
    }
}
