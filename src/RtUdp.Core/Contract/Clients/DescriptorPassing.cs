using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// One message with one file descriptor in SCM_RIGHTS over a unix socket: how rtudpd hands a client's memfd to
/// the engine (engine.sock) and to the client (rtudp-shm.sock).
/// </summary>
public static unsafe class DescriptorPassing
{
    // Room for one int in a control message, aligned as the kernel wants (CMSG_SPACE(sizeof(int)) is 24 on 64-bit).
    private const int ControlBytes = 64;

    /// <summary>Sends <paramref name="message"/> with <paramref name="fd"/> attached (no descriptor when negative).</summary>
    /// <returns>Bytes sent; -1 with <paramref name="errno"/> on failure (EAGAIN for a full non-blocking socket).</returns>
    public static int Send(int socket, ReadOnlySpan<byte> message, int fd, out int errno, int flags = 0)
    {
        errno = 0;
        byte* control = stackalloc byte[ControlBytes];
        new Span<byte>(control, ControlBytes).Clear();
        fixed (byte* data = message)
        {
            iovec iov = new() { iov_base = data, iov_len = (size_t)(nuint)message.Length };
            msghdr header = new() { msg_iov = &iov, msg_iovlen = 1 };
            if (fd >= 0)
            {
                header.msg_control = control;
                header.msg_controllen = CMSG_SPACE(sizeof(int));
                cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                *(int*)CMSG_DATA(cmsg) = fd;
            }
            ssize_t sent;
            do
            {
                sent = sendmsg(socket, &header, flags | MSG_NOSIGNAL);
            }
            while (sent == -1 && (errno = Marshal.GetLastPInvokeError()) == Errno.EINTR);
            return (int)sent;
        }
    }

    /// <summary>
    /// Receives one message into <paramref name="buffer"/>; a descriptor that came with it (close-on-exec) is in
    /// <paramref name="fd"/>, else -1. Extra descriptors a peer sent are closed.
    /// </summary>
    /// <returns>Bytes received (0: the peer closed); -1 with <paramref name="errno"/> on failure.</returns>
    public static int Receive(int socket, Span<byte> buffer, out int fd, out int errno, int flags = 0) =>
        Receive(socket, buffer, out fd, out errno, out _, flags);

    /// <summary>As <see cref="Receive(int, Span{byte}, out int, out int, int)"/>; <paramref name="truncated"/>: the message did not fit the buffer (MSG_TRUNC: the rest is gone).</summary>
    public static int Receive(int socket, Span<byte> buffer, out int fd, out int errno, out bool truncated, int flags = 0)
    {
        fd = -1;
        errno = 0;
        truncated = false;
        byte* control = stackalloc byte[ControlBytes];
        fixed (byte* data = buffer)
        {
            iovec iov = new() { iov_base = data, iov_len = (size_t)(nuint)buffer.Length };
            msghdr header = new() { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = ControlBytes };
            ssize_t received;
            do
            {
                received = recvmsg(socket, &header, flags | MSG_CMSG_CLOEXEC);
            }
            while (received == -1 && (errno = Marshal.GetLastPInvokeError()) == Errno.EINTR);
            if (received == -1)
            {
                return -1;
            }
            for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg != null; cmsg = CMSG_NXTHDR(&header, cmsg))
            {
                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                {
                    continue;
                }
                int count = (int)(((uint)cmsg->cmsg_len - (uint)CMSG_LEN(0)) / sizeof(int));
                int* fds = (int*)CMSG_DATA(cmsg);
                for (int i = 0; i < count; i++)
                {
                    if (fd < 0)
                    {
                        fd = fds[i];
                    }
                    else
                    {
                        _ = close(fds[i]);
                    }
                }
            }
            truncated = (header.msg_flags & MSG_TRUNC) != 0;
            return (int)received;
        }
    }
}
