using System.Runtime.InteropServices;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

namespace RtUdp.Core.Native;

/// <summary>
/// &lt;linux/if_xdp.h&gt;: AF_XDP sockets (XSK). A socket owns a UMEM (user memory split into equal frames) and up to
/// four single-producer/single-consumer rings shared with the kernel: fill and completion (frame addresses, u64) for
/// the UMEM, RX and TX (<see cref="xdp_desc"/>) for the socket. Names follow the kernel's uapi header; what the
/// installed headers may lack (they can be older than the running kernel) is marked with the kernel release that
/// added it, and NativeLayoutTests checks those only against headers at least that new.
/// </summary>
public static unsafe partial class Libc
{
    /// <summary>&lt;linux/socket.h&gt;: the AF_XDP address family (PF_XDP).</summary>
    public const int AF_XDP = 44;

    /// <summary>&lt;linux/socket.h&gt;: the socket option level of AF_XDP.</summary>
    public const int SOL_XDP = 283;

    // sockaddr_xdp.sxdp_flags.

    /// <summary>Bind to the UMEM of the socket in sxdp_shared_umem_fd instead of registering one.</summary>
    public const int XDP_SHARED_UMEM = 1 << 0;

    /// <summary>Force copy mode (the kernel copies frames between the UMEM and its own buffers; works on any device).</summary>
    public const int XDP_COPY = 1 << 1;

    /// <summary>Force zero-copy mode: bind fails (EOPNOTSUPP) when the driver cannot DMA straight from and into the UMEM.</summary>
    public const int XDP_ZEROCOPY = 1 << 2;

    /// <summary>
    /// The kernel may stop processing the fill and TX rings on its own and then sets <see cref="XDP_RING_NEED_WAKEUP"/>
    /// in their flags; the application wakes it with a syscall only then, instead of on every batch.
    /// </summary>
    public const int XDP_USE_NEED_WAKEUP = 1 << 3;

    /// <summary>Linux 6.6: packets may span several descriptors (multi-buffer), chained with <see cref="XDP_PKT_CONTD"/>.</summary>
    public const int XDP_USE_SG = 1 << 4;

    // xdp_umem_reg.flags.

    /// <summary>Frames may start anywhere (addresses carry an offset in their top 16 bits) instead of at multiples of the chunk size.</summary>
    public const int XDP_UMEM_UNALIGNED_CHUNK_FLAG = 1 << 0;

    /// <summary>Linux 6.8: compute a requested TX checksum in software (copy mode only); for testing and broken hardware.</summary>
    public const int XDP_UMEM_TX_SW_CSUM = 1 << 1;

    /// <summary>
    /// Linux 6.11: makes the kernel honour <see cref="xdp_umem_reg.tx_metadata_len"/> (6.8 to 6.10 honoured it without
    /// this flag; later kernels ignore the field unless it is set).
    /// </summary>
    public const int XDP_UMEM_TX_METADATA_LEN = 1 << 2;

    /// <summary>xdp_ring_offset.flags: the kernel waits for a syscall before it looks at this ring again.</summary>
    public const int XDP_RING_NEED_WAKEUP = 1 << 0;

    // Socket options at SOL_XDP.
    public const int XDP_MMAP_OFFSETS = 1;
    public const int XDP_RX_RING = 2;
    public const int XDP_TX_RING = 3;
    public const int XDP_UMEM_REG = 4;
    public const int XDP_UMEM_FILL_RING = 5;
    public const int XDP_UMEM_COMPLETION_RING = 6;
    public const int XDP_STATISTICS = 7;
    public const int XDP_OPTIONS = 8;

    /// <summary>xdp_options.flags: the socket is bound in zero-copy mode.</summary>
    public const int XDP_OPTIONS_ZEROCOPY = 1 << 0;

    // mmap(2) offsets that select which ring of the socket is mapped.
    public const long XDP_PGOFF_RX_RING = 0;
    public const long XDP_PGOFF_TX_RING = 0x80000000;
    public const long XDP_UMEM_PGOFF_FILL_RING = 0x100000000;
    public const long XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000;

    /// <summary>Unaligned chunk mode: bits 48 and up of an address are an offset added to the low 48 bits.</summary>
    public const int XSK_UNALIGNED_BUF_OFFSET_SHIFT = 48;
    public const ulong XSK_UNALIGNED_BUF_ADDR_MASK = (1UL << XSK_UNALIGNED_BUF_OFFSET_SHIFT) - 1;

    // xsk_tx_metadata.flags (Linux 6.8 unless noted).

    /// <summary>Linux 6.8: ask for the transmit timestamp, written into completion.tx_timestamp before the frame completes.</summary>
    public const int XDP_TXMD_FLAGS_TIMESTAMP = 1 << 0;

    /// <summary>Linux 6.8: ask the device to checksum from request.csum_start and store it at csum_start + csum_offset.</summary>
    public const int XDP_TXMD_FLAGS_CHECKSUM = 1 << 1;

    /// <summary>Linux 6.15: ask the device to send at request.launch_time (ns of its PTP hardware clock).</summary>
    public const int XDP_TXMD_FLAGS_LAUNCH_TIME = 1 << 2;

    // xdp_desc.options.

    /// <summary>Linux 6.6: the packet continues in the next descriptor (multi-buffer).</summary>
    public const int XDP_PKT_CONTD = 1 << 0;

    /// <summary>Linux 6.8: the TX frame has a valid <see cref="xsk_tx_metadata"/> just before its address.</summary>
    public const int XDP_TX_METADATA = 1 << 1;

    public struct sockaddr_xdp
    {
        public ushort sxdp_family;
        public ushort sxdp_flags;
        public uint sxdp_ifindex;
        public uint sxdp_queue_id;
        public uint sxdp_shared_umem_fd;
    }

    /// <summary>Byte offsets, within one ring's mapping, of its producer index, consumer index, entries and flags.</summary>
    public struct xdp_ring_offset
    {
        public ulong producer;
        public ulong consumer;
        public ulong desc;
        public ulong flags;
    }

    /// <summary>XDP_MMAP_OFFSETS: the layout of each of the four ring mappings.</summary>
    public struct xdp_mmap_offsets
    {
        public xdp_ring_offset rx;
        public xdp_ring_offset tx;
        public xdp_ring_offset fr;
        public xdp_ring_offset cr;
    }

    /// <summary>XDP_UMEM_REG. <c>tx_metadata_len</c> (Linux 6.8) lies where older headers had padding, so the size is the same.</summary>
    public struct xdp_umem_reg
    {
        public ulong addr;
        public ulong len;
        public uint chunk_size;
        public uint headroom;
        public uint flags;
        public uint tx_metadata_len;
    }

    /// <summary>XDP_STATISTICS: the socket's drops, counted by the kernel since bind.</summary>
    public struct xdp_statistics
    {
        /// <summary>Dropped for other reasons (e.g. no room in the socket's RX path).</summary>
        public ulong rx_dropped;

        public ulong rx_invalid_descs;
        public ulong tx_invalid_descs;

        /// <summary>Dropped because the RX ring was full.</summary>
        public ulong rx_ring_full;

        /// <summary>The kernel found the fill ring empty when a packet arrived.</summary>
        public ulong rx_fill_ring_empty_descs;

        /// <summary>The kernel found the TX ring empty when woken.</summary>
        public ulong tx_ring_empty_descs;
    }

    public struct xdp_options
    {
        public uint flags;
    }

    /// <summary>An RX or TX descriptor: a packet at <c>addr</c> (a UMEM offset) of <c>len</c> bytes.</summary>
    public struct xdp_desc
    {
        public ulong addr;
        public uint len;
        public uint options;
    }

    /// <summary>
    /// Linux 6.8 (launch_time: 6.15): per-frame TX metadata, <c>tx_metadata_len</c> bytes just before a TX
    /// descriptor's address, used when the descriptor has <see cref="XDP_TX_METADATA"/>. The driver reads
    /// <c>request</c> when it sends the frame and overwrites the same bytes with <c>completion</c> when it completes.
    /// </summary>
    [StructLayout(LayoutKind.Explicit)]
    public struct xsk_tx_metadata
    {
        [FieldOffset(0)]
        public ulong flags;

        [FieldOffset(8)]
        public Request request;

        [FieldOffset(8)]
        public Completion completion;

        /// <summary>The anonymous <c>request</c> struct of the C union.</summary>
        public struct Request
        {
            /// <summary>XDP_TXMD_FLAGS_CHECKSUM: where checksumming starts, from the descriptor's address.</summary>
            public ushort csum_start;

            /// <summary>XDP_TXMD_FLAGS_CHECKSUM: where the checksum goes, from csum_start.</summary>
            public ushort csum_offset;

            /// <summary>XDP_TXMD_FLAGS_LAUNCH_TIME: when to send, in ns of the device's PTP clock.</summary>
            public ulong launch_time;
        }

        /// <summary>The anonymous <c>completion</c> struct of the C union.</summary>
        public struct Completion
        {
            /// <summary>XDP_TXMD_FLAGS_TIMESTAMP: when the device sent the frame.</summary>
            public ulong tx_timestamp;
        }
    }
}
