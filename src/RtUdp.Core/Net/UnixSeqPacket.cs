using System.Runtime.InteropServices;
using System.Text;
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

    // CMSG_SPACE(sizeof(int)) on 64-bit Linux: 16-byte cmsghdr + 4 bytes of data padded to 8.
    private const int OneFdControlBytes = 24;

    // Room for a few descriptors a hostile peer might push at us: each is closed, none is kept.
    private const int ReceiveControlBytes = 64;

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
        byte* control = stackalloc byte[OneFdControlBytes];
        new Span<byte>(control, OneFdControlBytes).Clear();
        fixed (byte* data = message)
        {
            iovec vector = default;
            vector.iov_base = data;
            vector.iov_len = (size_t)(ulong)message.Length;
            msghdr header = default;
            header.msg_iov = &vector;
            header.msg_iovlen = 1;
            if (passFd >= 0)
            {
                header.msg_control = control;
                header.msg_controllen = OneFdControlBytes;
                cmsghdr* c = (cmsghdr*)control;
                c->cmsg_len = 16 + sizeof(int);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                *(int*)(control + 16) = passFd;
            }
            while (true)
            {
                long sent = sendmsg(fd, &header, MSG_NOSIGNAL);
                if (sent >= 0)
                {
                    if (sent != message.Length)
                    {
                        Errno.ThrowFor(Errno.EMSGSIZE, $"sendmsg({what}): {sent} of {message.Length} bytes");
                    }
                    return;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                {
                    Errno.ThrowFor(errno, $"sendmsg({what})");
                }
            }
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>; returns its length (0: the peer closed), or -1 when it
    /// did not fit (MSG_TRUNC: the rest is gone, the message is not to be trusted). A descriptor that came with it
    /// is returned in <paramref name="receivedFd"/> (-1: none; any further ones are closed).
    /// </summary>
    public static int Receive(int fd, Span<byte> buffer, out int receivedFd, string what)
    {
        receivedFd = -1;
        byte* control = stackalloc byte[ReceiveControlBytes];
        fixed (byte* data = buffer)
        {
            iovec vector = default;
            vector.iov_base = data;
            vector.iov_len = (size_t)(ulong)buffer.Length;
            msghdr header = default;
            header.msg_iov = &vector;
            header.msg_iovlen = 1;
            long received;
            while (true)
            {
                header.msg_control = control;
                header.msg_controllen = ReceiveControlBytes;
                received = recvmsg(fd, &header, MSG_CMSG_CLOEXEC);
                if (received >= 0)
                {
                    break;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ECONNRESET)
                {
                    return 0;
                }
                if (errno != Errno.EINTR)
                {
                    Errno.ThrowFor(errno, $"recvmsg({what})");
                }
            }
            receivedFd = TakeDescriptors(&header);
            if ((header.msg_flags & MSG_TRUNC) != 0)
            {
                return -1;
            }
            return (int)received;
        }
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

    // Keeps the first SCM_RIGHTS descriptor, closes any other (a peer must not leak descriptors into us).
    private static int TakeDescriptors(msghdr* header)
    {
        int kept = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(header); c != null; c = CMSG_NXTHDR(header, c))
        {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            {
                continue;
            }
            int count = (int)(((long)(ulong)c->cmsg_len - 16) / sizeof(int));
            int* fds = (int*)CMSG_DATA(c);
            for (int i = 0; i < count; i++)
            {
                if (kept < 0)
                {
                    kept = fds[i];
                }
                else
                {
                    _ = close(fds[i]);
                }
            }
        }
        return kept;
    }
}
