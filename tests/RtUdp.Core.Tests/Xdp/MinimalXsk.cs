using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The least AF_XDP socket the steering tests need to put in the XSKMAP: a UMEM, its fill and completion rings and
/// an rx ring (none mapped, the fill ring stays empty), bound in copy mode to one queue. Frames steered to it are
/// dropped for want of fill descriptors, which <see cref="RxDropped"/> counts: proof that they were steered.
/// Not the engine's socket (that is the AF_XDP part's); layouts from &lt;linux/if_xdp.h&gt;. Create it on a thread in
/// the interface's network namespace.
/// </summary>
internal sealed unsafe class MinimalXsk : IDisposable
{
    private const int AF_XDP = 44;
    private const int SOL_XDP = 283;
    private const int XDP_RX_RING = 2;
    private const int XDP_UMEM_REG = 4;
    private const int XDP_UMEM_FILL_RING = 5;
    private const int XDP_UMEM_COMPLETION_RING = 6;
    private const int XDP_STATISTICS = 7;
    private const ushort XDP_COPY = 1 << 1;
    private const int FrameSize = 4096;
    private const int Frames = 64;

    private readonly nint _umem;

    public MinimalXsk(int ifindex, int queue)
    {
        Fd = LibC.socket(AF_XDP, LibC.SOCK_RAW, 0);
        Assert.True(Fd >= 0, $"socket(AF_XDP): errno {Marshal.GetLastPInvokeError()}");
        _umem = (nint)NativeMemory.AlignedAlloc(FrameSize * Frames, 4096);
        try
        {
            var reg = new xdp_umem_reg { addr = (ulong)_umem, len = FrameSize * Frames, chunk_size = FrameSize };
            Check(LibC.setsockopt(Fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(xdp_umem_reg)), "XDP_UMEM_REG");
            int size = Frames;
            Check(LibC.setsockopt(Fd, SOL_XDP, XDP_UMEM_FILL_RING, &size, sizeof(int)), "XDP_UMEM_FILL_RING");
            Check(LibC.setsockopt(Fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &size, sizeof(int)), "XDP_UMEM_COMPLETION_RING");
            Check(LibC.setsockopt(Fd, SOL_XDP, XDP_RX_RING, &size, sizeof(int)), "XDP_RX_RING");
            var address = new sockaddr_xdp { sxdp_family = AF_XDP, sxdp_flags = XDP_COPY, sxdp_ifindex = (uint)ifindex, sxdp_queue_id = (uint)queue };
            Check(LibC.bind(Fd, (sockaddr*)&address, sizeof(sockaddr_xdp)), $"bind(AF_XDP, ifindex {ifindex}, queue {queue})");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Fd { get; private set; }

    /// <summary>Frames the socket received but had no fill descriptor for (xdp_statistics.rx_dropped).</summary>
    public ulong RxDropped
    {
        get
        {
            xdp_statistics stats;
            int length = sizeof(xdp_statistics);
            Check(LibC.getsockopt(Fd, SOL_XDP, XDP_STATISTICS, &stats, (socklen_t*)&length), "XDP_STATISTICS");
            return stats.rx_dropped;
        }
    }

    public void Dispose()
    {
        if (Fd >= 0)
        {
            _ = LibC.close(Fd);
            Fd = -1;
        }
        // The kernel unpinned the UMEM's pages when the socket went (it holds no reference after close).
        NativeMemory.AlignedFree((void*)_umem);
    }

    private static void Check(int result, string what) =>
        Assert.True(result == 0, $"{what}: errno {Marshal.GetLastPInvokeError()}");

    [StructLayout(LayoutKind.Sequential)]
    private struct xdp_umem_reg
    {
        public ulong addr;
        public ulong len;
        public uint chunk_size;
        public uint headroom;
        public uint flags;
        public uint tx_metadata_len;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct sockaddr_xdp
    {
        public ushort sxdp_family;
        public ushort sxdp_flags;
        public uint sxdp_ifindex;
        public uint sxdp_queue_id;
        public uint sxdp_shared_umem_fd;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct xdp_statistics
    {
        public ulong rx_dropped;
        public ulong rx_invalid_descs;
        public ulong tx_invalid_descs;
        public ulong rx_ring_full;
        public ulong rx_fill_ring_empty_descs;
        public ulong tx_ring_empty_descs;
    }
}
