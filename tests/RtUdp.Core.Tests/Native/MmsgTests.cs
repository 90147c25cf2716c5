using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Native;

public sealed unsafe class MmsgTests : IDisposable
{
    private const int Count = 8;
    private const int BufferSize = 64;

    private readonly int _receiver = UdpSocket();
    private readonly int _sender = UdpSocket();

    public MmsgTests()
    {
        sockaddr_in address = default;
        address.sin_family = LibC.AF_INET;
        address.sin_addr.s_addr[0] = 127;
        address.sin_addr.s_addr[3] = 1;
        socklen_t length = sizeof(sockaddr_in);
        Errno.Check(LibC.bind(_receiver, (sockaddr*)&address, length), "bind");
        Errno.Check(LibC.getsockname(_receiver, (sockaddr*)&address, &length), "getsockname");
        Errno.Check(LibC.connect(_sender, (sockaddr*)&address, length), "connect");

        // recvmmsg's own timeout cannot bound the wait for the first datagram; this can.
        var timeout = new Timeval { tv_sec = 5 };
        Errno.Check(LibC.setsockopt(_receiver, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, &timeout, sizeof(Timeval)), "setsockopt");
    }

    public void Dispose()
    {
        _ = LibC.close(_sender);
        _ = LibC.close(_receiver);
    }

    [Fact]
    public void Eight_datagrams_in_one_sendmmsg_and_one_recvmmsg()
    {
        byte* sendBuffers = stackalloc byte[Count * BufferSize];
        iovec* sendIov = stackalloc iovec[Count];
        mmsghdr* sendMsgs = stackalloc mmsghdr[Count];
        for (int i = 0; i < Count; i++)
        {
            // Distinct length and content per datagram, so order and boundaries are both checked.
            new Span<byte>(sendBuffers + i * BufferSize, BufferSize).Fill((byte)(i + 1));
            Describe(sendMsgs, sendIov, i, sendBuffers + i * BufferSize, 16 + i);
        }

        byte* recvBuffers = stackalloc byte[Count * BufferSize];
        iovec* recvIov = stackalloc iovec[Count];
        mmsghdr* recvMsgs = stackalloc mmsghdr[Count];
        for (int i = 0; i < Count; i++)
        {
            Describe(recvMsgs, recvIov, i, recvBuffers + i * BufferSize, BufferSize);
        }

        Assert.Equal(Count, Errno.Check(Libc.sendmmsg(_sender, sendMsgs, Count, 0), "sendmmsg"));
        Assert.Equal(Count, Errno.Check(Libc.recvmmsg(_receiver, recvMsgs, Count, 0, null), "recvmmsg"));

        for (int i = 0; i < Count; i++)
        {
            Assert.Equal((uint)(16 + i), sendMsgs[i].msg_len);
            Assert.Equal((uint)(16 + i), recvMsgs[i].msg_len);
            var payload = new ReadOnlySpan<byte>(recvBuffers + i * BufferSize, 16 + i);
            Assert.True(payload.IndexOfAnyExcept((byte)(i + 1)) < 0, $"datagram {i} corrupted or reordered");
        }
    }

    private static void Describe(mmsghdr* msgs, iovec* iov, int i, byte* buffer, int length)
    {
        iov[i].iov_base = buffer;
        iov[i].iov_len = length;
        msghdr header = default;
        header.msg_iov = &iov[i];
        header.msg_iovlen = 1;
        msgs[i].msg_hdr = header;
        msgs[i].msg_len = 0;
    }

    // struct timeval on 64-bit Linux; Tmds.LibC 0.5 does not declare it.
    private struct Timeval
    {
        public long tv_sec;
        public long tv_usec;
    }

    private static int UdpSocket() =>
        Errno.Check(LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM, LibC.IPPROTO_UDP), "socket");
}
