using System.Diagnostics;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Net.Netlink;

/// <summary>
/// A netlink socket of one protocol (NETLINK_ROUTE, NETLINK_GENERIC) bound to the kernel-assigned port, with
/// deadline-bounded receives: the socket handling shared by the qdisc reader, the next-hop resolver and the
/// netdev feature reader. Control path only. The socket lives in the network namespace of the thread that opens it.
/// </summary>
public sealed unsafe class NetlinkSocket : IDisposable
{
    /// <summary>Large enough for any single answer these readers ask for (a dump comes in several datagrams).</summary>
    public const int ReceiveBufferSize = 64 * 1024;

    private static int s_sequence;
    private int _fd;

    private NetlinkSocket(int fd) => _fd = fd;

    /// <summary>The socket's file descriptor (-1 once disposed).</summary>
    public int Fd => _fd;

    /// <summary>Opens and binds a netlink socket of <paramref name="protocol"/>.</summary>
    /// <exception cref="NativeCallException">socket or bind failed.</exception>
    public static NetlinkSocket Open(int protocol)
    {
        int fd = Errno.Check(socket(Libc.AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), "socket(AF_NETLINK)");
        try
        {
            Libc.sockaddr_nl local = default;
            local.nl_family = Libc.AF_NETLINK;
            Errno.Check(bind(fd, (sockaddr*)&local, (socklen_t)sizeof(Libc.sockaddr_nl)), "bind(AF_NETLINK)");
            // Shorter errors (no copy of the request) that carry the kernel's text for the error; best effort,
            // older kernels lack them.
            int on = 1;
            _ = setsockopt(fd, Libc.SOL_NETLINK, Libc.NETLINK_CAP_ACK, &on, sizeof(int));
            _ = setsockopt(fd, Libc.SOL_NETLINK, Libc.NETLINK_EXT_ACK, &on, sizeof(int));
            return new NetlinkSocket(fd);
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    }

    /// <summary>A sequence number unique in this process (never 0, which parsers treat as "any").</summary>
    public static uint NextSequence()
    {
        uint sequence;
        do
        {
            sequence = (uint)Interlocked.Increment(ref s_sequence);
        }
        while (sequence == 0);
        return sequence;
    }

    /// <summary>A deadline in <see cref="Stopwatch"/> ticks, <paramref name="timeout"/> from now.</summary>
    public static long Deadline(TimeSpan timeout) => Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

    /// <summary>NLMSG_ALIGN / RTA_ALIGN.</summary>
    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>Sends one request (complete netlink messages) to the kernel.</summary>
    public void Send(ReadOnlySpan<byte> request, string what)
    {
        Libc.sockaddr_nl kernel = default;
        kernel.nl_family = Libc.AF_NETLINK;
        fixed (byte* p = request)
        {
            long sent = Errno.Check((long)sendto(_fd, p, (size_t)request.Length, 0, (sockaddr*)&kernel, (socklen_t)sizeof(Libc.sockaddr_nl)),
                "sendto(" + what + ")");
            if (sent != request.Length)
            {
                throw new InvalidDataException($"short netlink send of {what}: {sent} of {request.Length} bytes");
            }
        }
    }

    /// <summary>Receives one datagram into <paramref name="buffer"/>, waiting until <paramref name="deadline"/> at most.</summary>
    /// <returns>Its length.</returns>
    /// <exception cref="NativeCallException">ETIMEDOUT past the deadline, or recv failed.</exception>
    /// <exception cref="InvalidDataException">The datagram did not fit.</exception>
    public int Receive(byte* buffer, int size, long deadline)
    {
        WaitReadable(deadline);
        long received = Errno.Check((long)recv(_fd, buffer, (size_t)size, MSG_TRUNC), "recv(AF_NETLINK)");
        if (received > size)
        {
            throw new InvalidDataException($"netlink datagram of {received} bytes exceeds the {size}-byte buffer");
        }
        return (int)received;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (its nlmsg_seq already set to <paramref name="sequence"/>; ask NLM_F_ACK for
    /// a non-dump request) and collects the answers carrying that sequence number until NLMSG_DONE or NLMSG_ERROR.
    /// </summary>
    /// <returns>The payloads of the other messages, with their types, in order.</returns>
    /// <exception cref="NativeCallException">The kernel answered with an error (its errno, and its text when it gave one), or the deadline passed.</exception>
    public List<NetlinkMessage> Transact(ReadOnlySpan<byte> request, uint sequence, long deadline, string what)
    {
        Send(request, what);
        var messages = new List<NetlinkMessage>();
        byte* buffer = (byte*)NativeMemory.Alloc(ReceiveBufferSize);
        try
        {
            while (true)
            {
                int length = Receive(buffer, ReceiveBufferSize, deadline);
                if (Collect(new ReadOnlySpan<byte>(buffer, length), sequence, messages, what))
                {
                    return messages;
                }
            }
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>Adds one datagram's messages of <paramref name="sequence"/> to <paramref name="messages"/>; true when the answer ended.</summary>
    internal static bool Collect(ReadOnlySpan<byte> datagram, uint sequence, List<NetlinkMessage> messages, string what)
    {
        int headerSize = sizeof(Libc.nlmsghdr);
        int offset = 0;
        while (datagram.Length - offset >= headerSize)
        {
            Libc.nlmsghdr header = MemoryMarshal.Read<Libc.nlmsghdr>(datagram[offset..]);
            if (header.nlmsg_len < headerSize || header.nlmsg_len > datagram.Length - offset)
            {
                throw new InvalidDataException($"netlink message at offset {offset} claims {header.nlmsg_len} bytes; {datagram.Length - offset} remain");
            }

            ReadOnlySpan<byte> payload = datagram.Slice(offset + headerSize, (int)header.nlmsg_len - headerSize);
            offset += Align((int)header.nlmsg_len);
            if (header.nlmsg_seq != sequence)
            {
                continue;
            }

            switch (header.nlmsg_type)
            {
                case Libc.NLMSG_DONE:
                    int status = payload.Length >= sizeof(int) ? MemoryMarshal.Read<int>(payload) : 0;
                    if (status < 0)
                    {
                        Errno.ThrowFor(-status, what);
                    }
                    return true;
                case Libc.NLMSG_ERROR:
                    if (payload.Length < sizeof(int))
                    {
                        throw new InvalidDataException("NLMSG_ERROR without an error code");
                    }

                    int error = MemoryMarshal.Read<int>(payload);
                    if (error != 0)
                    {
                        string? text = ExtendedAckMessage(payload, header.nlmsg_flags);
                        Errno.ThrowFor(error < 0 ? -error : error, text is null ? what : $"{what}: {text}");
                    }
                    return true;
                case Libc.NLMSG_NOOP or Libc.NLMSG_OVERRUN:
                    break;
                default:
                    messages.Add(new NetlinkMessage(header.nlmsg_type, header.nlmsg_flags, payload.ToArray()));
                    break;
            }
        }

        return false;
    }

    /// <summary>NLMSGERR_ATTR_MSG of an extended ACK (NETLINK_EXT_ACK), when the kernel gave one.</summary>
    private static string? ExtendedAckMessage(ReadOnlySpan<byte> payload, ushort flags)
    {
        const ushort NLM_F_CAPPED = 0x100;
        const ushort NLM_F_ACK_TLVS = 0x200;
        if ((flags & NLM_F_ACK_TLVS) == 0)
        {
            return null;
        }

        int start = sizeof(int) + sizeof(Libc.nlmsghdr);
        if ((flags & NLM_F_CAPPED) == 0 && payload.Length >= start)
        {
            start = sizeof(int) + Align((int)MemoryMarshal.Read<Libc.nlmsghdr>(payload[sizeof(int)..]).nlmsg_len);
        }

        if (start > payload.Length)
        {
            return null;
        }

        ReadOnlySpan<byte> tlvs = payload[start..];
        foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(tlvs))
        {
            if (attribute.Type == Libc.NLMSGERR_ATTR_MSG)
            {
                return attribute.AsString(tlvs);
            }
        }
        return null;
    }

    private void WaitReadable(long deadline)
    {
        while (true)
        {
            long remainingTicks = deadline - Stopwatch.GetTimestamp();
            if (remainingTicks <= 0)
            {
                Errno.ThrowFor(Errno.ETIMEDOUT, "recv(AF_NETLINK)");
            }

            pollfd pfd = default;
            pfd.fd = _fd;
            pfd.events = POLLIN;
            int timeoutMs = (int)Math.Max(1, Math.Min(int.MaxValue, remainingTicks * 1000 / Stopwatch.Frequency));
            int ready = poll(&pfd, 1, timeoutMs);
            if (ready > 0)
            {
                return;
            }

            if (ready < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR)
            {
                Errno.ThrowFor(Marshal.GetLastPInvokeError(), "poll(AF_NETLINK)");
            }
        }
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

/// <summary>One answer message: its type, flags and payload (after nlmsghdr).</summary>
public sealed record NetlinkMessage(ushort Type, ushort Flags, byte[] Payload);
