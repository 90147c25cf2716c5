using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Timestamping;

/// <summary>
/// Drains a socket's error queue in batches with one non-blocking
/// <c>recvmmsg(fd, ..., MSG_ERRQUEUE | MSG_DONTWAIT)</c> into preallocated native buffers. After
/// construction nothing allocates and nothing throws: failures are counted and returned as -errno.
/// Not thread-safe: one reader per instance. Does not own <c>fd</c>.
/// </summary>
/// <remarks>
/// Each message gets <see cref="QuoteBytes"/> of payload room: with SOF_TIMESTAMPING_OPT_TSONLY the
/// kernel queues no payload with a stamp, and an ICMP error comes with the head of the datagram it
/// quotes (the kernel sets MSG_TRUNC for the rest), which tells which packet it was. The control buffer must hold both control messages: CMSG_SPACE(48) for
/// SCM_TIMESTAMPING plus CMSG_SPACE(16 + 28) for IPV6_RECVERR with its offender address = 128 bytes;
/// <see cref="ControlBytesPerMessage"/> leaves room for OPT_PKTINFO or OPT_STATS as well.
/// </remarks>
public sealed unsafe class ErrorQueueReader : IDisposable
{
    /// <summary>Control buffer bytes per message.</summary>
    public const int ControlBytesPerMessage = 256;

    /// <summary>Bytes of an ICMP error's quoted datagram kept per message: a flow header and then some.</summary>
    public const int QuoteBytes = 64;

    private readonly mmsghdr* _messages;
    private readonly byte* _control;
    private readonly byte* _quotes;
    private readonly iovec* _vectors;
    private bool _disposed;

    public ErrorQueueReader(int fd, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        Fd = fd;
        Batch = batch;
        _messages = (mmsghdr*)NativeMemory.AllocZeroed((nuint)batch, (nuint)sizeof(mmsghdr));
        _control = (byte*)NativeMemory.AllocZeroed((nuint)batch, ControlBytesPerMessage);
        _quotes = (byte*)NativeMemory.AllocZeroed((nuint)batch, QuoteBytes);
        _vectors = (iovec*)NativeMemory.AllocZeroed((nuint)batch, (nuint)sizeof(iovec));
    }

    /// <summary>The quoted bytes of a message the last <see cref="Drain"/> returned (valid until the next one).</summary>
    public ReadOnlySpan<byte> Quote(in ErrQueueMessage message) =>
        new(_quotes + ((long)message.QuoteSlot * QuoteBytes), Math.Min(message.QuotedLength, QuoteBytes));

    public int Fd { get; }

    /// <summary>The most messages one <see cref="Drain"/> reads.</summary>
    public int Batch { get; }

    /// <summary>recvmmsg failures other than EAGAIN/EINTR.</summary>
    public long Errors { get; private set; }

    /// <summary>The errno of the latest counted failure, 0 if none.</summary>
    public int LastErrno { get; private set; }

    /// <summary>Messages read whose control data held no well-formed sock_extended_err (not returned).</summary>
    public long Malformed { get; private set; }

    /// <summary>Messages whose control data was cut short (MSG_CTRUNC); they are still returned.</summary>
    public long ControlTruncated { get; private set; }

    /// <summary>Messages returned by <see cref="Drain"/> so far.</summary>
    public long Received { get; private set; }

    /// <summary>
    /// Reads up to min(<paramref name="into"/>.Length, <see cref="Batch"/>) messages without blocking.
    /// </summary>
    /// <returns>The number of messages written to <paramref name="into"/>; 0 when the queue is empty
    /// (EAGAIN) or the call was interrupted; -errno on any other failure (also counted in
    /// <see cref="Errors"/>).</returns>
    public int Drain(Span<ErrQueueMessage> into)
    {
        int wanted = Math.Min(into.Length, Batch);
        if (wanted <= 0 || _disposed)
        {
            return 0;
        }

        for (int i = 0; i < wanted; i++)
        {
            // The kernel shrinks msg_controllen to what it wrote: give every slot its full room back.
            msghdr* header = (msghdr*)&_messages[i]; // msg_hdr is the first field of mmsghdr
            header->msg_name = null;
            header->msg_namelen = 0;
            _vectors[i].iov_base = _quotes + ((long)i * QuoteBytes);
            _vectors[i].iov_len = QuoteBytes;
            header->msg_iov = &_vectors[i];
            header->msg_iovlen = 1;
            header->msg_control = _control + ((long)i * ControlBytesPerMessage);
            header->msg_controllen = ControlBytesPerMessage;
            header->msg_flags = 0;
            _messages[i].msg_len = 0;
        }

        int count = Libc.recvmmsg(Fd, _messages, (uint)wanted, LibC.MSG_ERRQUEUE | LibC.MSG_DONTWAIT, null);
        if (count < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.EAGAIN or Errno.EINTR)
            {
                return 0;
            }

            Errors++;
            LastErrno = errno;
            return -errno;
        }

        int written = 0;
        for (int i = 0; i < count; i++)
        {
            msghdr* header = (msghdr*)&_messages[i]; // msg_hdr is the first field of mmsghdr
            if (!ErrorQueue.TryParse(header, out into[written]))
            {
                Malformed++;
                continue;
            }

            if (into[written].ControlTruncated)
            {
                ControlTruncated++;
            }

            into[written].QuoteSlot = i;
            into[written].QuotedLength = (int)_messages[i].msg_len;

            written++;
        }

        Received += written;
        return written;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeMemory.Free(_messages);
        NativeMemory.Free(_control);
        NativeMemory.Free(_quotes);
        NativeMemory.Free(_vectors);
    }
}
