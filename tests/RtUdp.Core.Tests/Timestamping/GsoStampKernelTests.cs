using System.Runtime.InteropServices;
using RtUdp.Core.Engine;
using RtUdp.Core.Engine.Send;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Timestamping;

/// <summary>
/// What the kernel does with the TX stamps of UDP GSO trains, which the send worker relies on (docs/gso.md),
/// pinned on real sockets on 127.0.0.1: one sendmsg of a train takes one OPT_ID key and gets one SCHED and one
/// SND stamp (its first segment's), whatever its segments; a train the kernel refuses in its GSO checks (here
/// EINVAL for SO_NO_CHECK) has taken a key all the same; a plain datagram around them takes one key each.
/// </summary>
public sealed unsafe class GsoStampKernelTests : IDisposable
{
    private const int SO_NO_CHECK = 11;

    private readonly List<int> _fds = [];

    public void Dispose()
    {
        foreach (int fd in _fds)
        {
            _ = LibC.close(fd);
        }
    }

    [Fact]
    public void A_train_takes_one_key_and_one_stamp_per_stage_and_a_refused_train_takes_a_key()
    {
        (int sender, int receiver) = ConnectedPair();
        int flags = SocketTimestamping.FlagsFor(RtUdp.Core.Contract.Channels.TimestampMode.Software, sends: true, receives: false);
        SocketTimestamping.Set(sender, flags);

        Assert.Equal(100, Send(sender, segment: 100, lengths: [100]));                    // key 0
        Assert.Equal(440, Send(sender, segment: 100, lengths: [100, 100, 100, 100, 40])); // key 1: five datagrams
        Assert.Equal(64 * 64, Send(sender, segment: 64, lengths: [.. Enumerable.Repeat(64, 64)])); // key 2: 64 datagrams
        SetInt(sender, SO_NO_CHECK, 1);
        Assert.Equal(-Errno.EINVAL, Send(sender, segment: 100, lengths: [100, 100]));     // key 3, refused
        SetInt(sender, SO_NO_CHECK, 0);
        Assert.Equal(100, Send(sender, segment: 100, lengths: [100]));                    // key 4

        // Every datagram the trains were cut into arrives, none of the refused one's.
        int datagrams = 0;
        byte* buffer = stackalloc byte[2048];
        Wait.Until(
            () =>
            {
                while (LibC.recv(receiver, buffer, 2048, LibC.MSG_DONTWAIT) >= 0)
                {
                    datagrams++;
                }
                return datagrams >= 1 + 5 + 64 + 1;
            },
            TimeSpan.FromSeconds(5),
            () => $"{datagrams} datagrams received");

        // SCHED and SND once for each key that went out; none for the refused train's key 3.
        var stamps = new List<(uint Key, int Stage)>();
        using var reader = new ErrorQueueReader(sender, batch: 16);
        var drained = new ErrQueueMessage[16];
        Wait.Until(
            () =>
            {
                int n = reader.Drain(drained);
                Assert.True(n >= 0, $"error queue: {Errno.Describe(-n)}");
                stamps.AddRange(drained.Take(n).Where(m => m.Kind == ErrQueueKind.TxTimestamp).Select(m => (m.StampId, m.StampType)));
                return stamps.Count >= 8;
            },
            TimeSpan.FromSeconds(5),
            () => $"stamps so far: {string.Join(' ', stamps)}");
        // A grace period for any stray extra stamp (a per-segment SND would show up here).
        Thread.Sleep(50);
        int more = reader.Drain(drained);
        stamps.AddRange(drained.Take(Math.Max(0, more)).Where(m => m.Kind == ErrQueueKind.TxTimestamp).Select(m => (m.StampId, m.StampType)));

        (uint, int)[] expected = [.. new uint[] { 0, 1, 2, 4 }.SelectMany(key => new[] { (key, Libc.SCM_TSTAMP_SCHED), (key, Libc.SCM_TSTAMP_SND) })];
        Assert.Equal(expected.Order(), stamps.Order());
    }

    /// <summary>One sendmsg of the payloads as iovecs, with UDP_SEGMENT when more than one: bytes sent or -errno.</summary>
    private static int Send(int fd, int segment, int[] lengths)
    {
        byte* data = stackalloc byte[lengths.Sum()];
        iovec* vectors = stackalloc iovec[lengths.Length];
        int offset = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            vectors[i].iov_base = data + offset;
            vectors[i].iov_len = (size_t)lengths[i];
            offset += lengths[i];
        }
        byte* control = stackalloc byte[UdpSegmentControl.Space];
        UdpSegmentControl.Write(control, (ushort)segment);
        msghdr message = new() { msg_iov = vectors, msg_iovlen = lengths.Length };
        if (lengths.Length > 1)
        {
            message.msg_control = control;
            message.msg_controllen = UdpSegmentControl.Space;
        }
        int result = (int)LibC.sendmsg(fd, &message, 0);
        return result >= 0 ? result : -Marshal.GetLastPInvokeError();
    }

    private static void SetInt(int fd, int option, int value) =>
        Errno.Check(LibC.setsockopt(fd, LibC.SOL_SOCKET, option, &value, sizeof(int)), "setsockopt");

    private (int Sender, int Receiver) ConnectedPair()
    {
        int receiver = Socket();
        int sender = Socket();
        int size = 4 << 20;
        SetInt(receiver, LibC.SO_RCVBUF, size);
        sockaddr_in address = default;
        address.sin_family = LibC.AF_INET;
        address.sin_addr.s_addr[0] = 127;
        address.sin_addr.s_addr[3] = 1;
        socklen_t length = sizeof(sockaddr_in);
        Errno.Check(LibC.bind(receiver, (sockaddr*)&address, length), "bind");
        Errno.Check(LibC.getsockname(receiver, (sockaddr*)&address, &length), "getsockname");
        Errno.Check(LibC.connect(sender, (sockaddr*)&address, length), "connect");
        return (sender, receiver);
    }

    private int Socket()
    {
        int fd = Errno.Check(LibC.socket(LibC.AF_INET, LibC.SOCK_DGRAM, LibC.IPPROTO_UDP), "socket");
        _fds.Add(fd);
        return fd;
    }
}
