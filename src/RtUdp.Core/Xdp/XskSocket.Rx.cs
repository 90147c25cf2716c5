using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The receive side. <see cref="PeekRx"/> the packets the kernel wrote (each at <see cref="RxData"/>, of
/// <see cref="RxDescriptor"/>'s len), <see cref="ReleaseRx"/> them when read (their frames return to the RX pool),
/// then <see cref="RefillRx"/> the fill ring from that pool and <see cref="KickRx"/> in case the kernel asked.
/// </summary>
public sealed unsafe partial class XskSocket
{
    // RX ring index of peeked slot 0, and how many are peeked.
    private uint _rxBase;
    private int _rxPeeked;

    /// <summary>The errno of the last <see cref="KickRx"/> that failed (Busy or Failed); 0 before any. Read on the receiving thread.</summary>
    public int LastRxKickErrno { get; private set; }

    /// <summary>The fill ring's need-wakeup flag: the kernel waits for a syscall before taking more buffers.</summary>
    public bool FillNeedsWakeup => _fill!.NeedsWakeup;

    /// <summary>RX frames in the pool (neither with the kernel nor peeked).</summary>
    public int RxFramesFree => _rxFrames!.Count;

    /// <summary>Frames handed to the kernel through the fill ring and not yet consumed by it.</summary>
    public int FillOutstanding => (int)_fill!.Outstanding;

    /// <summary>Up to <paramref name="max"/> more received packets; returns how many. Slots follow those already peeked.</summary>
    public int PeekRx(int max)
    {
        if (_rx is not { } rx)
        {
            return 0;
        }
        uint got = rx.Peek((uint)max, out uint index);
        if (_rxPeeked == 0)
        {
            _rxBase = index;
        }
        _rxPeeked += (int)got;
        return (int)got;
    }

    /// <summary>Peeked slot <paramref name="slot"/>: addr (UMEM offset of the packet's first byte) and len.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly Libc.xdp_desc RxDescriptor(int slot) => ref _rx!.Entry(_rxBase + (uint)slot);

    /// <summary>Peeked slot <paramref name="slot"/>'s packet, from its Ethernet header on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* RxData(int slot) => _umem!.At(RxDescriptor(slot).addr);

    /// <summary>Hands every peeked slot back to the kernel; their frames go to the RX pool, for <see cref="RefillRx"/>.</summary>
    public void ReleaseRx()
    {
        if (_rxPeeked == 0)
        {
            return;
        }
        XdpFramePool frames = _rxFrames!;
        XdpUmem umem = _umem!;
        for (int slot = 0; slot < _rxPeeked; slot++)
        {
            frames.Return(umem.FrameOf(RxDescriptor(slot).addr));
        }
        _rx!.Release();
        _rxPeeked = 0;
    }

    /// <summary>Moves as many free RX frames as fit into the fill ring; returns how many.</summary>
    public int RefillRx()
    {
        XdpFramePool frames = _rxFrames!;
        XskProducerRing<ulong> fill = _fill!;
        uint granted = fill.Reserve((uint)frames.Count, out uint index);
        if (granted == 0)
        {
            return 0;
        }
        for (uint i = 0; i < granted; i++)
        {
            // Frame starts: the kernel adds its 256 bytes and the UMEM headroom itself.
            fill.Entry(index + i) = frames.Take();
        }
        fill.Submit();
        return (int)granted;
    }

    /// <summary>
    /// Wakes the kernel for the fill ring if it asked (need-wakeup set): <c>recvfrom(fd, NULL, 0, MSG_DONTWAIT)</c>,
    /// as libxdp and the kernel's af_xdp.rst do; a busy-polling or blocking caller may poll(POLLIN) instead.
    /// </summary>
    public XdpKickResult KickRx()
    {
        if (Options.NeedWakeup && !_fill!.NeedsWakeup)
        {
            return XdpKickResult.NotNeeded;
        }
        if (LibC.recvfrom(_fd, null, 0, LibC.MSG_DONTWAIT, null, null) >= 0)
        {
            return XdpKickResult.Woken;
        }
        int errno = Marshal.GetLastPInvokeError();
        LastRxKickErrno = errno;
        return KickOutcome(errno);
    }
}
