/* AF_XDP reference loop for rtudp-bench, compiled by gcc at bench time (as rtudp_ref.c). Raw syscalls, no libxdp.
 *   xdp_ref tx IFACE QUEUE CPU PRIO SECONDS DST_MAC SRC_IP DST_IP PORT [BATCH [ZEROCOPY]]
 *       -> an AF_XDP socket on queue QUEUE of IFACE (a name or an ifindex), bound in copy mode (ZEROCOPY 1: zero-copy,
 *          failing if the driver cannot), sends Ethernet/IPv4/UDP frames with a 64-byte payload to DST_MAC /
 *          DST_IP:PORT from IFACE's MAC / SRC_IP:PORT as fast as it can for SECONDS: reap the completion ring, reserve
 *          up to BATCH (default 64) TX descriptors, write each frame's sequence number into its payload, publish,
 *          and sendto(MSG_DONTWAIT) when the TX ring asks for a wake-up (always, in copy mode). The UDP checksum is 0
 *          (none, allowed on IPv4) so a frame costs one 8-byte write, as a sender with prebuilt headers pays.
 *          The socket binds to one queue, so run it on the queue the receiver's traffic leaves by (0 on veth).
 * Output: one line of key=value pairs: sent (published to the TX ring within SECONDS), completed (reaped within
 * SECONDS), seconds, pps (completed / seconds), completed_total (after up to 1 s of draining), kicks, busy (EAGAIN, EBUSY,
 * ENOBUFS), errors (other errnos, the first in first_errno), zerocopy, start_ns/end_ns (CLOCK_MONOTONIC). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define FRAME_SIZE 2048
#define FRAMES 4096
#define RING 2048
#define PAYLOAD 64
#define FRAME_LEN (14 + 20 + 8 + PAYLOAD)

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void setup(int cpu, int prio)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) perror("sched_setaffinity");
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) perror("mlockall");
    if (prio > 0) {
        struct sched_param p = { .sched_priority = prio };
        if (sched_setscheduler(0, SCHED_FIFO, &p) != 0) perror("sched_setscheduler");
    }
}

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(2);
}

/* One ring's mapping: the indices are free-running u32s shared with the kernel. */
struct ring {
    uint32_t *producer, *consumer, *flags;
    void *entries;
    uint32_t cached_producer, cached_consumer;
};

static void map_ring(int fd, const struct xdp_ring_offset *off, size_t entry, off_t pgoff, struct ring *r)
{
    size_t length = off->desc + RING * entry;
    char *map = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (map == MAP_FAILED) die("mmap(ring)");
    r->producer = (uint32_t *)(map + off->producer);
    r->consumer = (uint32_t *)(map + off->consumer);
    r->flags = (uint32_t *)(map + off->flags);
    r->entries = map + off->desc;
    r->cached_producer = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
    r->cached_consumer = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
}

static uint16_t checksum(const uint8_t *data, int length)
{
    uint32_t sum = 0;
    for (int i = 0; i + 1 < length; i += 2) sum += (uint32_t)data[i] << 8 | data[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void parse_mac(const char *text, uint8_t *mac)
{
    if (sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "not a MAC address: %s\n", text);
        exit(2);
    }
}

static struct in_addr parse_addr(const char *text)
{
    struct in_addr address;
    if (inet_pton(AF_INET, text, &address) != 1) { fprintf(stderr, "not an IPv4 address: %s\n", text); exit(2); }
    return address;
}

/* Ethernet + IPv4 (checksummed) + UDP (checksum 0) + PAYLOAD bytes. */
static void build_frame(uint8_t *f, const uint8_t *src_mac, const uint8_t *dst_mac, struct in_addr src, struct in_addr dst, int port)
{
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    f[12] = 0x08; f[13] = 0x00;
    uint8_t *ip = f + 14;
    uint16_t total = htons(20 + 8 + PAYLOAD);
    ip[0] = 0x45; ip[1] = 0;
    memcpy(ip + 2, &total, 2);
    ip[4] = ip[5] = 0; ip[6] = 0x40; ip[7] = 0; /* DF */
    ip[8] = 64; ip[9] = 17; ip[10] = ip[11] = 0;
    memcpy(ip + 12, &src, 4);
    memcpy(ip + 16, &dst, 4);
    uint16_t sum = htons(checksum(ip, 20));
    memcpy(ip + 10, &sum, 2);
    uint8_t *udp = ip + 20;
    uint16_t p = htons(port), length = htons(8 + PAYLOAD);
    memcpy(udp, &p, 2);
    memcpy(udp + 2, &p, 2);
    memcpy(udp + 4, &length, 2);
    udp[6] = udp[7] = 0;
    for (int i = 0; i < PAYLOAD; i++) udp[8 + i] = (uint8_t)i;
}

int main(int argc, char **argv)
{
    if (argc < 11 || strcmp(argv[1], "tx") != 0) {
        fprintf(stderr, "usage: see the comment at the top of xdp_ref.c\n");
        return 2;
    }
    const char *iface = argv[2];
    int queue = atoi(argv[3]), cpu = atoi(argv[4]), prio = atoi(argv[5]), port = atoi(argv[10]);
    double seconds = atof(argv[6]);
    int batch = argc >= 12 ? atoi(argv[11]) : 64;
    int zerocopy = argc >= 13 && atoi(argv[12]) == 1;
    uint8_t dst_mac[6], src_mac[6];
    parse_mac(argv[7], dst_mac);
    struct in_addr src = parse_addr(argv[8]), dst = parse_addr(argv[9]);
    unsigned ifindex = (unsigned)strtoul(iface, NULL, 10);
    char name[IF_NAMESIZE] = { 0 };
    if (ifindex == 0) ifindex = if_nametoindex(iface);
    if (ifindex == 0 || if_indextoname(ifindex, name) == NULL) die("interface");
    setup(cpu, prio);

    int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket(AF_XDP)");
    struct ifreq ifr = { 0 };
    memcpy(ifr.ifr_name, name, IF_NAMESIZE); /* name is IF_NAMESIZE bytes, NUL-padded */
    int inet = socket(AF_INET, SOCK_DGRAM, 0);
    if (ioctl(inet, SIOCGIFHWADDR, &ifr) != 0) die("SIOCGIFHWADDR");
    memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
    close(inet);

    size_t umem_length = (size_t)FRAMES * FRAME_SIZE;
    uint8_t *umem = mmap(NULL, umem_length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (umem == MAP_FAILED) die("mmap(UMEM)");
    struct xdp_umem_reg reg = { .addr = (uintptr_t)umem, .len = umem_length, .chunk_size = FRAME_SIZE };
    if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) != 0) die("XDP_UMEM_REG");
    int size = RING;
    if (setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &size, sizeof size) != 0) die("XDP_UMEM_FILL_RING");
    if (setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &size, sizeof size) != 0) die("XDP_UMEM_COMPLETION_RING");
    if (setsockopt(fd, SOL_XDP, XDP_TX_RING, &size, sizeof size) != 0) die("XDP_TX_RING");
    struct xdp_mmap_offsets off;
    socklen_t optlen = sizeof off;
    if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) != 0) die("XDP_MMAP_OFFSETS");
    struct ring tx, cq;
    map_ring(fd, &off.tx, sizeof(struct xdp_desc), XDP_PGOFF_TX_RING, &tx);
    map_ring(fd, &off.cr, sizeof(uint64_t), XDP_UMEM_PGOFF_COMPLETION_RING, &cq);
    tx.cached_consumer += RING; /* producer side: cached_consumer is the first index not yet writable */

    struct sockaddr_xdp sxdp = {
        .sxdp_family = AF_XDP, .sxdp_ifindex = ifindex, .sxdp_queue_id = queue,
        .sxdp_flags = XDP_USE_NEED_WAKEUP | (zerocopy ? XDP_ZEROCOPY : XDP_COPY),
    };
    if (bind(fd, (struct sockaddr *)&sxdp, sizeof sxdp) != 0) die("bind");
    struct xdp_options options;
    optlen = sizeof options;
    if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &options, &optlen) != 0) die("XDP_OPTIONS");

    /* Every frame gets the headers once; the loop writes only the sequence number. */
    static uint64_t free_frames[FRAMES];
    int free_count = 0;
    for (int i = FRAMES - 1; i >= 0; i--) {
        build_frame(umem + (size_t)i * FRAME_SIZE, src_mac, dst_mac, src, dst, port);
        free_frames[free_count++] = (uint64_t)i * FRAME_SIZE;
    }

    long long sent = 0, completed = 0, completed_in_time = 0, kicks = 0, busy = 0, errors = 0, seq = 0;
    int first_errno = 0;
    struct xdp_desc *descs = tx.entries;
    uint64_t *addrs = cq.entries;
    long long start = now_ns(), end = start + (long long)(seconds * 1e9), t = start;
    for (int draining = 0;; ) {
        /* Reap: the kernel's producer index with acquire, our consumer index with release. */
        uint32_t produced = __atomic_load_n(cq.producer, __ATOMIC_ACQUIRE);
        uint32_t n = produced - cq.cached_consumer;
        for (uint32_t i = 0; i < n; i++) free_frames[free_count++] = addrs[(cq.cached_consumer + i) & (RING - 1)];
        if (n > 0) {
            cq.cached_consumer += n;
            __atomic_store_n(cq.consumer, cq.cached_consumer, __ATOMIC_RELEASE);
            completed += n;
        }
        if (draining) {
            if (completed == sent || now_ns() > t + 1000000000LL) break;
        } else {
            /* Reserve: refresh the kernel's consumer index only when the cached one shows too little room. */
            uint32_t room = tx.cached_consumer - tx.cached_producer;
            if (room < (uint32_t)batch) {
                tx.cached_consumer = __atomic_load_n(tx.consumer, __ATOMIC_ACQUIRE) + RING;
                room = tx.cached_consumer - tx.cached_producer;
            }
            uint32_t k = room < (uint32_t)batch ? room : (uint32_t)batch;
            if (k > (uint32_t)free_count) k = free_count;
            for (uint32_t i = 0; i < k; i++) {
                struct xdp_desc *d = &descs[(tx.cached_producer + i) & (RING - 1)];
                d->addr = free_frames[--free_count];
                d->len = FRAME_LEN;
                d->options = 0;
                seq++;
                memcpy(umem + d->addr + 14 + 20 + 8, &seq, sizeof seq);
            }
            if (k > 0) {
                tx.cached_producer += k;
                __atomic_store_n(tx.producer, tx.cached_producer, __ATOMIC_RELEASE);
                sent += k;
            }
        }
        if (sent != completed && (__atomic_load_n(tx.flags, __ATOMIC_RELAXED) & XDP_RING_NEED_WAKEUP)) {
            kicks++;
            if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
                if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS) busy++;
                else if (errors++ == 0) first_errno = errno;
            }
        }
        if (!draining) {
            t = now_ns();
            if (t >= end) {
                draining = 1;
                completed_in_time = completed;
            }
        }
    }
    double elapsed = (t - start) / 1e9;
    printf("sent=%lld completed=%lld seconds=%.6f pps=%.0f completed_total=%lld kicks=%lld busy=%lld errors=%lld first_errno=%d zerocopy=%d start_ns=%lld end_ns=%lld\n",
        sent, completed_in_time, elapsed, completed_in_time / elapsed, completed, kicks, busy, errors, first_errno,
        (options.flags & XDP_OPTIONS_ZEROCOPY) != 0, start, t);
    return 0;
}
