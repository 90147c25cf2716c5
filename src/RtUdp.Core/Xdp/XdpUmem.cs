using System.Runtime.CompilerServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The UMEM: one anonymous, page-aligned mapping split into equal frames, registered with a socket by XDP_UMEM_REG.
/// Frames are addressed by their offset from the start ("address" in the rings). mmap rather than NativeMemory: the
/// kernel wants page alignment and pins the pages, and MAP_POPULATE faults them all in now, not on the hot path.
/// </summary>
public sealed unsafe class XdpUmem : IDisposable
{
    private byte* _memory;

    public XdpUmem(int frameSize, int frameCount, int rxHeadroom, int txMetadataLength)
    {
        FrameSize = frameSize;
        FrameCount = frameCount;
        RxHeadroom = rxHeadroom;
        TxMetadataLength = txMetadataLength;
        Length = (long)frameSize * frameCount;
        void* memory = LibC.mmap(null, (size_t)(ulong)Length, LibC.PROT_READ | LibC.PROT_WRITE,
            LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS | LibC.MAP_POPULATE, -1, 0);
        if (memory == LibC.MAP_FAILED)
        {
            Errno.ThrowFor(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), $"mmap(UMEM of {Length} bytes)");
        }
        _memory = (byte*)memory;
    }

    public byte* Memory => _memory;

    public long Length { get; }

    public int FrameSize { get; }

    public int FrameCount { get; }

    public int RxHeadroom { get; }

    /// <summary>Bytes of xsk_tx_metadata in front of each TX frame's data; 0 when unused.</summary>
    public int TxMetadataLength { get; }

    /// <summary>Where the data of a TX frame starts within the frame: after its metadata, which the kernel finds at address - TxMetadataLength.</summary>
    public int TxDataOffset => TxMetadataLength;

    /// <summary>The byte at UMEM address <paramref name="address"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* At(ulong address) => _memory + address;

    /// <summary>The start of the frame holding <paramref name="address"/> (aligned chunk mode: frames are FrameSize apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong FrameOf(ulong address) => address & ~(ulong)(FrameSize - 1);

    /// <summary>XDP_UMEM_REG on <paramref name="fd"/>; <paramref name="fail"/> turns an errno into the caller's exception.</summary>
    internal void Register(int fd, Action<string, int> fail)
    {
        var reg = new Libc.xdp_umem_reg
        {
            addr = (ulong)_memory,
            len = (ulong)Length,
            chunk_size = (uint)FrameSize,
            headroom = (uint)RxHeadroom,
            tx_metadata_len = (uint)TxMetadataLength,
            // Since Linux 6.11 tx_metadata_len counts only with this flag; 6.8 to 6.10 do not know the flag and
            // reject it (EINVAL), but use the length without it: the caller learns from the error, not from silence.
            flags = TxMetadataLength > 0 ? Libc.XDP_UMEM_TX_METADATA_LEN : 0u,
        };
        if (LibC.setsockopt(fd, Libc.SOL_XDP, Libc.XDP_UMEM_REG, &reg, (uint)sizeof(Libc.xdp_umem_reg)) != 0)
        {
            fail("setsockopt(XDP_UMEM_REG)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }

    public void Dispose()
    {
        if (_memory != null)
        {
            _ = LibC.munmap(_memory, (size_t)(ulong)Length);
            _memory = null;
        }
    }
}
