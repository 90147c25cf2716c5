using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// An AF_XDP socket bound to one queue of one interface, with its own UMEM and four rings, driven by raw syscalls
/// (no libxdp). Construction does every syscall and throws <see cref="XskException"/> naming the one that failed;
/// afterwards the send side (<see cref="ReserveTx"/> ... <see cref="CompleteTx(int)"/>, this file's partial
/// XskSocket.Tx.cs) and the receive side (<see cref="PeekRx"/> ... <see cref="KickRx"/>, XskSocket.Rx.cs) allocate
/// nothing, take no lock and throw nothing the kernel can cause. Each side is single-threaded: one thread may send
/// while another receives.
/// </summary>
/// <remarks>
/// Receiving needs an XDP program that redirects the queue's packets into this socket (its <see cref="Fd"/> in an
/// XSKMAP, the loader's job); sending works without any program.
/// </remarks>
public sealed unsafe partial class XskSocket : IDisposable
{
    private readonly XdpZeroCopyPolicy _policy;
    private int _fd = -1;
    private XdpUmem? _umem;
    private XskProducerRing<ulong>? _fill;
    private XskConsumerRing<ulong>? _completion;
    private XskConsumerRing<Libc.xdp_desc>? _rx;
    private XskProducerRing<Libc.xdp_desc>? _tx;
    private XdpFramePool? _rxFrames;
    private XdpFramePool? _txFrames;

    /// <summary>Creates the socket, its UMEM and rings, and binds it to <paramref name="queueId"/> of <paramref name="ifIndex"/>.</summary>
    /// <remarks>The socket belongs to the calling thread's network namespace, as any socket does.</remarks>
    public XskSocket(int ifIndex, uint queueId, XskOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        IfIndex = ifIndex;
        QueueId = queueId;
        Options = options;
        _policy = options.ZeroCopy;
        try
        {
            _fd = LibC.socket(Libc.AF_XDP, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
            if (_fd < 0)
            {
                Fail("socket(AF_XDP)", Marshal.GetLastPInvokeError());
            }

            try
            {
                _umem = new XdpUmem(options.FrameSize, options.RxFrames + options.TxFrames, options.RxHeadroom, options.TxMetadataLength);
            }
            catch (NativeCallException e)
            {
                Fail(e.Call, e.Errno);
            }
            _umem.Register(_fd, Fail);

            // The kernel insists on a fill and a completion ring for a UMEM of its own, RX or not.
            int fillSize = options.RxRingSize == 0 ? 2 : options.RxRingSize;
            SetRingSize(Libc.XDP_UMEM_FILL_RING, fillSize, "XDP_UMEM_FILL_RING");
            SetRingSize(Libc.XDP_UMEM_COMPLETION_RING, options.TxRingSize, "XDP_UMEM_COMPLETION_RING");
            if (options.RxRingSize > 0)
            {
                SetRingSize(Libc.XDP_RX_RING, options.RxRingSize, "XDP_RX_RING");
            }
            SetRingSize(Libc.XDP_TX_RING, options.TxRingSize, "XDP_TX_RING");

            Libc.xdp_mmap_offsets offsets = default;
            socklen_t length = (uint)sizeof(Libc.xdp_mmap_offsets);
            if (LibC.getsockopt(_fd, Libc.SOL_XDP, Libc.XDP_MMAP_OFFSETS, &offsets, &length) != 0)
            {
                Fail("getsockopt(XDP_MMAP_OFFSETS)", Marshal.GetLastPInvokeError());
            }
            if ((uint)length != (uint)sizeof(Libc.xdp_mmap_offsets))
            {
                // Kernels before 5.4 had no flags word in the rings (so no need_wakeup); not supported.
                Fail("getsockopt(XDP_MMAP_OFFSETS) gave " + (uint)length + " bytes, a pre-5.4 layout", Errno.EPROTO);
            }

            _fill = new XskProducerRing<ulong>(new XskRingMapping(_fd, offsets.fr, fillSize, sizeof(ulong), Libc.XDP_UMEM_PGOFF_FILL_RING, Fail));
            _completion = new XskConsumerRing<ulong>(new XskRingMapping(_fd, offsets.cr, options.TxRingSize, sizeof(ulong), Libc.XDP_UMEM_PGOFF_COMPLETION_RING, Fail));
            if (options.RxRingSize > 0)
            {
                _rx = new XskConsumerRing<Libc.xdp_desc>(new XskRingMapping(_fd, offsets.rx, options.RxRingSize, sizeof(Libc.xdp_desc), Libc.XDP_PGOFF_RX_RING, Fail));
            }
            _tx = new XskProducerRing<Libc.xdp_desc>(new XskRingMapping(_fd, offsets.tx, options.TxRingSize, sizeof(Libc.xdp_desc), Libc.XDP_PGOFF_TX_RING, Fail));

            // RX frames first, then TX frames: the two pools never trade frames.
            _rxFrames = new XdpFramePool(0, options.RxFrames, options.FrameSize);
            _txFrames = new XdpFramePool((ulong)options.RxFrames * (ulong)options.FrameSize, options.TxFrames, options.FrameSize);

            // Buffers for the kernel before the first packet can arrive.
            _ = RefillRx();

            Bind(options);
            ZeroCopy = ReadZeroCopy();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The socket's file descriptor: for an XSKMAP entry, poll, or the loader.</summary>
    public int Fd => _fd;

    public int IfIndex { get; }

    public uint QueueId { get; }

    public XskOptions Options { get; }

    /// <summary>Bound in zero-copy mode (XDP_OPTIONS_ZEROCOPY, as the kernel reports it after bind).</summary>
    public bool ZeroCopy { get; }

    /// <summary>Why Auto fell back to copy mode (the errno of the zero-copy bind), 0 when it did not.</summary>
    public int ZeroCopyRefusedErrno { get; private set; }

    public XdpUmem Umem => _umem!;

    /// <summary>The kernel's drop counters for this socket (XDP_STATISTICS). Not for the hot path: one syscall, may throw.</summary>
    public Libc.xdp_statistics Statistics()
    {
        Libc.xdp_statistics statistics = default;
        socklen_t length = (uint)sizeof(Libc.xdp_statistics);
        if (LibC.getsockopt(_fd, Libc.SOL_XDP, Libc.XDP_STATISTICS, &statistics, &length) != 0)
        {
            Fail("getsockopt(XDP_STATISTICS)", Marshal.GetLastPInvokeError());
        }
        return statistics;
    }

    private void SetRingSize(int option, int size, string name)
    {
        if (LibC.setsockopt(_fd, Libc.SOL_XDP, option, &size, sizeof(int)) != 0)
        {
            Fail($"setsockopt({name}, {size})", Marshal.GetLastPInvokeError());
        }
    }

    private void Bind(XskOptions options)
    {
        ushort flags = (ushort)(options.NeedWakeup ? Libc.XDP_USE_NEED_WAKEUP : 0);
        switch (options.ZeroCopy)
        {
            case XdpZeroCopyPolicy.Copy:
                BindOrFail((ushort)(flags | Libc.XDP_COPY));
                break;
            case XdpZeroCopyPolicy.Required:
                BindOrFail((ushort)(flags | Libc.XDP_ZEROCOPY));
                break;
            default:
                // Zero-copy first, explicitly: without either flag the kernel would also fall back, but silently and
                // on any driver error; here only "this driver cannot" (EOPNOTSUPP) falls back, and the errno is kept.
                // A failed bind leaves the socket unbound (the kernel frees the half-made pool), so binding again is allowed.
                int errno = TryBind((ushort)(flags | Libc.XDP_ZEROCOPY));
                if (errno == Errno.EOPNOTSUPP)
                {
                    ZeroCopyRefusedErrno = errno;
                    BindOrFail((ushort)(flags | Libc.XDP_COPY));
                }
                else if (errno != 0)
                {
                    Fail("bind", errno);
                }
                break;
        }
    }

    private void BindOrFail(ushort flags)
    {
        int errno = TryBind(flags);
        if (errno != 0)
        {
            Fail("bind", errno);
        }
    }

    private int TryBind(ushort flags)
    {
        var address = new Libc.sockaddr_xdp
        {
            sxdp_family = (ushort)Libc.AF_XDP,
            sxdp_flags = flags,
            sxdp_ifindex = (uint)IfIndex,
            sxdp_queue_id = QueueId,
        };
        return LibC.bind(_fd, (sockaddr*)&address, (uint)sizeof(Libc.sockaddr_xdp)) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private bool ReadZeroCopy()
    {
        Libc.xdp_options xdpOptions = default;
        socklen_t length = (uint)sizeof(Libc.xdp_options);
        if (LibC.getsockopt(_fd, Libc.SOL_XDP, Libc.XDP_OPTIONS, &xdpOptions, &length) != 0)
        {
            Fail("getsockopt(XDP_OPTIONS)", Marshal.GetLastPInvokeError());
        }
        return (xdpOptions.flags & Libc.XDP_OPTIONS_ZEROCOPY) != 0;
    }

    [DoesNotReturn]
    private void Fail(string call, int errno) =>
        throw new XskException(call, errno, IfIndex, QueueId, XskException.Explain(call, errno, _policy));

    /// <remarks>
    /// The kernel releases the socket when the fd is closed and the last ring mapping is gone, and frees its queue in
    /// deferred work after that: a new socket binding the same queue straight away may get EBUSY for a moment.
    /// </remarks>
    public void Dispose()
    {
        // The socket first: closing it unpins the UMEM and stops the kernel touching the rings we then unmap.
        if (_fd >= 0)
        {
            _ = LibC.close(_fd);
            _fd = -1;
        }
        _fill?.Dispose();
        _completion?.Dispose();
        _rx?.Dispose();
        _tx?.Dispose();
        _umem?.Dispose();
        _rxFrames?.Dispose();
        _txFrames?.Dispose();
        _fill = null;
        _completion = null;
        _rx = null;
        _tx = null;
        _umem = null;
        _rxFrames = null;
        _txFrames = null;
    }
}
