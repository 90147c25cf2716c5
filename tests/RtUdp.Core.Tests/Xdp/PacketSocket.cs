using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>An AF_PACKET SOCK_RAW socket bound to one interface: sends whole Ethernet frames, receives every frame seen there.</summary>
internal sealed unsafe class PacketSocket : IDisposable
{
    private int _fd;

    private PacketSocket(int fd) => _fd = fd;

    /// <summary>Opens the socket on <paramref name="ifindex"/> in the calling thread's network namespace.</summary>
    public static PacketSocket Open(int ifindex)
    {
        ushort all = BinaryPrimitives.ReverseEndianness(Libc.ETH_P_ALL);
        int fd = Errno.Check(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, all), "socket(AF_PACKET)");
        sockaddr_ll address = default;
        address.sll_family = (ushort)AF_PACKET;
        address.sll_protocol = all;
        address.sll_ifindex = ifindex;
        if (bind(fd, (sockaddr*)&address, (socklen_t)sizeof(sockaddr_ll)) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = close(fd);
            Errno.ThrowFor(errno, "bind(AF_PACKET)");
        }
        return new PacketSocket(fd);
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            long sent = Errno.Check((long)send(_fd, p, (size_t)frame.Length, 0), "send(AF_PACKET)");
            Assert.Equal(frame.Length, sent);
        }
    }

    /// <summary>Frames until <paramref name="accept"/> takes one (returned) or <paramref name="timeout"/> passes (null).</summary>
    public byte[]? ReceiveUntil(Func<byte[], bool> accept, TimeSpan timeout)
    {
        byte[] buffer = new byte[65536];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            pollfd pfd = default;
            pfd.fd = _fd;
            pfd.events = POLLIN;
            int remaining = (int)Math.Max(1, (timeout - clock.Elapsed).TotalMilliseconds);
            if (poll(&pfd, 1, remaining) <= 0)
            {
                continue;
            }

            long received;
            fixed (byte* b = buffer)
            {
                received = Errno.Check((long)recv(_fd, b, (size_t)buffer.Length, 0), "recv(AF_PACKET)");
            }

            byte[] frame = buffer[..(int)received];
            if (accept(frame))
            {
                return frame;
            }
        }
        return null;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }
}
