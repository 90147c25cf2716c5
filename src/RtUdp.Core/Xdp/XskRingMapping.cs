using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// One ring's shared mapping: the kernel's producer index, consumer index, flags word and entry array, at the offsets
/// XDP_MMAP_OFFSETS gave. Indices are free-running u32 counters; an entry's slot is index &amp; (Size - 1).
/// </summary>
public sealed unsafe class XskRingMapping : IDisposable
{
    private byte* _map;
    private readonly ulong _length;
    private readonly bool _owned = true;

    /// <param name="pageOffset">XDP_PGOFF_RX_RING, XDP_PGOFF_TX_RING, XDP_UMEM_PGOFF_FILL_RING or XDP_UMEM_PGOFF_COMPLETION_RING.</param>
    internal XskRingMapping(int fd, in Libc.xdp_ring_offset offsets, int size, int entrySize, long pageOffset, Action<string, int> fail)
    {
        Size = (uint)size;
        _length = offsets.desc + (ulong)size * (ulong)entrySize;
        void* map = LibC.mmap(null, (size_t)_length, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_POPULATE, fd, pageOffset);
        if (map == LibC.MAP_FAILED)
        {
            fail($"mmap(ring at page offset 0x{pageOffset:x})", Marshal.GetLastPInvokeError());
        }
        _map = (byte*)map;
        Producer = (uint*)(_map + offsets.producer);
        Consumer = (uint*)(_map + offsets.consumer);
        Flags = (uint*)(_map + offsets.flags);
        Entries = _map + offsets.desc;
    }

    /// <summary>A ring laid out at <paramref name="memory"/>, which the caller owns (tests drive both sides of it).</summary>
    internal XskRingMapping(byte* memory, in Libc.xdp_ring_offset offsets, int size)
    {
        Size = (uint)size;
        _map = memory;
        _owned = false;
        Producer = (uint*)(memory + offsets.producer);
        Consumer = (uint*)(memory + offsets.consumer);
        Flags = (uint*)(memory + offsets.flags);
        Entries = memory + offsets.desc;
    }

    public uint Size { get; }

    public uint* Producer { get; }

    public uint* Consumer { get; }

    /// <summary>XDP_RING_NEED_WAKEUP lives here (for the fill and TX rings, when bound with XDP_USE_NEED_WAKEUP).</summary>
    public uint* Flags { get; }

    public byte* Entries { get; }

    public void Dispose()
    {
        if (_map != null && _owned)
        {
            _ = LibC.munmap(_map, (size_t)_length);
        }
        _map = null;
    }
}
