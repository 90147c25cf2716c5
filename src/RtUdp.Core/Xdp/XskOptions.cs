using System.Numerics;

namespace RtUdp.Core.Xdp;

/// <summary>
/// How an <see cref="XskSocket"/> is made: its UMEM's geometry, its ring sizes and the zero-copy policy. The UMEM is
/// split into <see cref="RxFrames"/> frames that circulate through the fill and RX rings, then
/// <see cref="TxFrames"/> frames that circulate through the TX and completion rings.
/// </summary>
public sealed record XskOptions
{
    /// <summary>The kernel's own headroom in front of every received frame (XDP_PACKET_HEADROOM).</summary>
    public const int KernelRxHeadroom = 256;

    /// <summary>Bytes per UMEM frame: 2048 or 4096 (aligned chunk mode: a power of two, at most a page).</summary>
    public int FrameSize { get; init; } = 2048;

    /// <summary>Frames for reception, handed to the kernel through the fill ring. May be 0 for a socket that only sends.</summary>
    public int RxFrames { get; init; } = 2048;

    /// <summary>Frames for transmission (the TX frame pool).</summary>
    public int TxFrames { get; init; } = 2048;

    /// <summary>Entries of the RX and fill rings (a power of two). 0: no RX ring, the socket only sends.</summary>
    public int RxRingSize { get; init; } = 2048;

    /// <summary>Entries of the TX and completion rings (a power of two).</summary>
    public int TxRingSize { get; init; } = 2048;

    /// <summary>Extra headroom the kernel leaves in front of each received packet, after its own 256 bytes.</summary>
    public int RxHeadroom { get; init; }

    /// <summary>
    /// Bytes of <c>xsk_tx_metadata</c> in front of every TX frame's data (Linux 6.8; a multiple of 8 below 256), for TX
    /// timestamps, checksum offload or launch time. 0: none (the default; older kernels reject anything else).
    /// </summary>
    public int TxMetadataLength { get; init; }

    public XdpZeroCopyPolicy ZeroCopy { get; init; } = XdpZeroCopyPolicy.Auto;

    /// <summary>Bind with XDP_USE_NEED_WAKEUP, so the kernel is woken by a syscall only when it asks for one.</summary>
    public bool NeedWakeup { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent setting.</summary>
    public void Validate()
    {
        if (FrameSize is not (2048 or 4096) || FrameSize > Environment.SystemPageSize)
        {
            throw new ArgumentException($"FrameSize {FrameSize}: must be 2048 or 4096 and at most the page size {Environment.SystemPageSize}");
        }
        if (RxFrames < 0 || TxFrames <= 0 || (long)RxFrames + TxFrames > int.MaxValue / FrameSize)
        {
            throw new ArgumentException($"RxFrames {RxFrames}, TxFrames {TxFrames}: need RxFrames >= 0, TxFrames > 0 and a UMEM below 2 GiB");
        }
        if (RxRingSize != 0 && !BitOperations.IsPow2(RxRingSize))
        {
            throw new ArgumentException($"RxRingSize {RxRingSize}: must be 0 or a power of two");
        }
        if (!BitOperations.IsPow2(TxRingSize))
        {
            throw new ArgumentException($"TxRingSize {TxRingSize}: must be a power of two");
        }
        if (RxRingSize == 0 && RxFrames != 0)
        {
            throw new ArgumentException($"RxFrames {RxFrames} without an RX ring (RxRingSize 0)");
        }
        if (RxHeadroom < 0 || RxHeadroom >= FrameSize - KernelRxHeadroom)
        {
            throw new ArgumentException($"RxHeadroom {RxHeadroom}: must leave room in a {FrameSize}-byte frame after the kernel's {KernelRxHeadroom}");
        }
        if (TxMetadataLength < 0 || TxMetadataLength >= 256 || TxMetadataLength % 8 != 0)
        {
            throw new ArgumentException($"TxMetadataLength {TxMetadataLength}: must be a multiple of 8 below 256");
        }
    }
}
