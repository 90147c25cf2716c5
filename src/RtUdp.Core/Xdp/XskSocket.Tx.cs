using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The send side. One batch: <see cref="ReserveTx"/> n slots (a TX descriptor each, with a free frame), write each
/// packet at <see cref="TxData"/> and give its length with <see cref="SetTxLength"/>, <see cref="SubmitTx"/>, then
/// <see cref="KickTx"/>; every so often <see cref="CompleteTx(int)"/> returns the frames the kernel is done with to
/// the pool. Slots are numbered from 0 over everything reserved and not yet submitted.
/// </summary>
public sealed unsafe partial class XskSocket
{
    // Published TX ring index of slot 0, and how many slots are reserved after it.
    private uint _txBase;
    private int _txReserved;

    /// <summary>The errno of the last <see cref="KickTx"/> that failed (Busy or Failed); 0 before any. Read on the sending thread.</summary>
    public int LastTxKickErrno { get; private set; }

    /// <summary>Bytes a TX frame holds for a packet (the frame less its metadata).</summary>
    public int TxDataCapacity => Options.FrameSize - Options.TxMetadataLength;

    /// <summary>TX frames free now: how many packets a <see cref="ReserveTx"/> could take at most.</summary>
    public int TxFramesFree => _txFrames!.Count;

    /// <summary>Frames submitted to the kernel and not yet reaped by <see cref="CompleteTx(int)"/>.</summary>
    public int TxInFlight => _txFrames!.Capacity - _txFrames.Count - _txReserved;

    /// <summary>Frames published on the TX ring that the kernel has not taken yet (copy mode takes a budget per kick).</summary>
    public int TxPending => (int)_tx!.Outstanding;

    /// <summary>The TX ring's need-wakeup flag: a <see cref="KickTx"/> now would make a syscall.</summary>
    public bool TxNeedsWakeup => _tx!.NeedsWakeup;

    /// <summary>
    /// Reserves up to <paramref name="count"/> more TX slots, each with a frame from the pool; returns how many (fewer
    /// when the ring or the pool runs short: reap completions). The new slots follow those already reserved.
    /// </summary>
    public int ReserveTx(int count)
    {
        XskProducerRing<Libc.xdp_desc> tx = _tx!;
        XdpFramePool frames = _txFrames!;
        uint wanted = (uint)Math.Min(count, frames.Count);
        uint granted = tx.Reserve(wanted, out uint index);
        if (_txReserved == 0)
        {
            _txBase = index;
        }
        ulong dataOffset = (ulong)Options.TxMetadataLength;
        for (uint i = 0; i < granted; i++)
        {
            ref Libc.xdp_desc desc = ref tx.Entry(index + i);
            desc.addr = frames.Take() + dataOffset;
            desc.len = 0;
            desc.options = 0;
        }
        _txReserved += (int)granted;
        return (int)granted;
    }

    /// <summary>The descriptor of reserved slot <paramref name="slot"/>: addr (a UMEM offset) and len/options to set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Libc.xdp_desc TxDescriptor(int slot) => ref _tx!.Entry(_txBase + (uint)slot);

    /// <summary>Where slot <paramref name="slot"/>'s packet is written (<see cref="TxDataCapacity"/> bytes, from the Ethernet header on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* TxData(int slot) => _umem!.At(TxDescriptor(slot).addr);

    /// <summary>Sets the length of slot <paramref name="slot"/>'s packet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetTxLength(int slot, int length) => TxDescriptor(slot).len = (uint)length;

    /// <summary>
    /// Slot <paramref name="slot"/>'s metadata (zeroed, and flagged XDP_TX_METADATA in its descriptor), to request a TX
    /// timestamp, checksum or launch time. Only with <see cref="XskOptions.TxMetadataLength"/> set.
    /// </summary>
    public Libc.xsk_tx_metadata* RequestTxMetadata(int slot)
    {
        if (Options.TxMetadataLength < sizeof(Libc.xsk_tx_metadata))
        {
            ThrowNoMetadata();
        }
        ref Libc.xdp_desc desc = ref TxDescriptor(slot);
        desc.options |= Libc.XDP_TX_METADATA;
        var metadata = (Libc.xsk_tx_metadata*)TxMetadataAt(desc.addr);
        *metadata = default;
        return metadata;
    }

    /// <summary>The metadata in front of the TX packet at <paramref name="address"/> (a descriptor's or a completion's address).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Libc.xsk_tx_metadata* TxMetadataAt(ulong address) => (Libc.xsk_tx_metadata*)_umem!.At(address - (ulong)Options.TxMetadataLength);

    /// <summary>
    /// Publishes the first <paramref name="count"/> reserved slots to the kernel; the rest of the reservation is
    /// cancelled and its frames go back to the pool. Call <see cref="KickTx"/> next.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// A slot to publish has length 0: the kernel would drop it as invalid without ever completing it, and its frame
    /// would be lost to the pool (a caller's bug, checked for that reason).
    /// </exception>
    public void SubmitTx(int count)
    {
        XskProducerRing<Libc.xdp_desc> tx = _tx!;
        int cancelled = _txReserved - count;
        if ((uint)cancelled > (uint)_txReserved)
        {
            ThrowBadCount(count, _txReserved);
        }
        for (int slot = 0; slot < count; slot++)
        {
            if (TxDescriptor(slot).len == 0)
            {
                ThrowEmptySlot(slot);
            }
        }
        if (cancelled > 0)
        {
            for (int slot = count; slot < _txReserved; slot++)
            {
                _txFrames!.Return(_umem!.FrameOf(TxDescriptor(slot).addr));
            }
            tx.Cancel((uint)cancelled);
        }
        tx.Submit();
        _txReserved = 0;
    }

    /// <summary>
    /// Makes the kernel process the TX ring if it asked for it (need-wakeup set, or always when bound without
    /// XDP_USE_NEED_WAKEUP): <c>sendto(fd, NULL, 0, MSG_DONTWAIT)</c>. In copy mode the kernel sends a bounded budget
    /// per call (32 frames by default) and answers EAGAIN (<see cref="XdpKickResult.Busy"/>) when more are waiting,
    /// and the TX ring's need-wakeup flag stays set: kick again while <see cref="TxInFlight"/> frames are still to go.
    /// </summary>
    public XdpKickResult KickTx()
    {
        if (Options.NeedWakeup && !_tx!.NeedsWakeup)
        {
            return XdpKickResult.NotNeeded;
        }
        if (LibC.sendto(_fd, null, 0, LibC.MSG_DONTWAIT, null, 0) >= 0)
        {
            return XdpKickResult.Woken;
        }
        int errno = Marshal.GetLastPInvokeError();
        LastTxKickErrno = errno;
        return KickOutcome(errno);
    }

    /// <summary>Reaps up to <paramref name="max"/> completed TX frames back into the pool; returns how many.</summary>
    public int CompleteTx(int max) => CompleteTx(max, null);

    /// <summary>
    /// As <see cref="CompleteTx(int)"/>, also giving each completed descriptor address (the address the packet was sent
    /// from, for <see cref="TxMetadataAt"/>: read its metadata before the frame is reserved again) into
    /// <paramref name="addresses"/>, which has room for <paramref name="max"/>.
    /// </summary>
    public int CompleteTx(int max, ulong* addresses)
    {
        XskConsumerRing<ulong> completion = _completion!;
        uint got = completion.Peek((uint)max, out uint index);
        if (got == 0)
        {
            return 0;
        }
        XdpFramePool frames = _txFrames!;
        XdpUmem umem = _umem!;
        for (uint i = 0; i < got; i++)
        {
            ulong address = completion.Entry(index + i);
            if (addresses != null)
            {
                addresses[i] = address;
            }
            frames.Return(umem.FrameOf(address));
        }
        completion.Release();
        return (int)got;
    }

    private static XdpKickResult KickOutcome(int errno) =>
        errno is Errno.EAGAIN or Errno.EBUSY or Errno.ENOBUFS or Errno.EINTR ? XdpKickResult.Busy : XdpKickResult.Failed;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNoMetadata() =>
        throw new InvalidOperationException("TX metadata needs XskOptions.TxMetadataLength >= sizeof(xsk_tx_metadata)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowEmptySlot(int slot) =>
        throw new InvalidOperationException($"SubmitTx: slot {slot} has no length (SetTxLength)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadCount(int count, int reserved) =>
        throw new ArgumentOutOfRangeException(nameof(count), count, $"SubmitTx: {reserved} slots are reserved");
}
