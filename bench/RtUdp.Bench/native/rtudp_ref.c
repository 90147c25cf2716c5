/* Reference programs for rtudp-bench, compiled by gcc at bench time.
 *   rtudp_ref tput  PORT CPU PRIO SECONDS BATCH          -> plain sendmmsg loop on a connected UDP socket
 *   rtudp_ref gso   PORT CPU PRIO SECONDS SEGMENTS SIZE [ADDR [IOVECS]] -> a loop of one send() per train: SEGMENTS
 *       datagrams of SIZE bytes in one buffer, cut by the kernel (UDP_SEGMENT control message, UDP GSO); pps counts
 *       datagrams; to ADDR (default 127.0.0.1); IOVECS 1 hands the train as one iovec per datagram (as a sender
 *       whose packets lie apart in memory does) instead of one; start_ns/end_ns bound the measured loop (CLOCK_MONOTONIC)
 *   rtudp_ref rx    ADDR CPU PRIO SECONDS GRO -> binds ADDR port 0, prints "ready port=N", then reads with recvmmsg
 *       (64 x 64 KiB, MSG_DONTWAIT in a spin: it never sleeps, so no sender pays for waking it; UDP_GRO when GRO
 *       is 1: a coalesced datagram counts its segments) for SECONDS, printing "t=NS datagrams=N reads=R drops=D"
 *       every 50 ms (D: the socket's drops so far, SO_RXQ_OVFL)
 *   rtudp_ref timer PORT CPU PRIO SECONDS PERIOD_NS MARGIN_NS
 *       -> sleep (clock_nanosleep TIMER_ABSTIME) to due - margin, spin to due, send one 64-byte packet;
 *          prints the error (clock read after the wait - due) percentiles in ns. MARGIN_NS 0 = sleep only.
 * Output: one line of key=value pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static struct in_addr parse_addr(const char *text)
{
    struct in_addr address;
    if (inet_pton(AF_INET, text, &address) != 1) { fprintf(stderr, "not an IPv4 address: %s\n", text); exit(2); }
    return address;
}

/* A UDP socket connected to ADDR:PORT; bound to loopback when ADDR is loopback (else the route picks the source). */
static int connect_udp_to(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 4 << 20; /* as the engine's default socket_buffer_bytes */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct in_addr remote = parse_addr(addr);
    if (remote.s_addr == htonl(INADDR_LOOPBACK)) {
        struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        bind(fd, (struct sockaddr *)&local, sizeof local);
    }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = remote };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(2); }
    return fd;
}

static int connect_udp(int port)
{
    return connect_udp_to("127.0.0.1", port);
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static long long pct(long long *v, long n, double p)
{
    long i = (long)(p * n + 0.999999) - 1;
    if (i < 0) i = 0;
    if (i >= n) i = n - 1;
    return v[i];
}

/* The far side of the trains benchmark: counts what arrives (coalesced datagrams by their segments). */
static int receive(const char *addr, int cpu, int prio, double seconds, int gro)
{
    enum { SLOTS = 64, SLOT_BYTES = 65536 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int size = 4 << 20, one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0
        && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) != 0) perror("SO_RCVBUF");
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) != 0) perror("SO_RXQ_OVFL");
    if (gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one) != 0) { perror("UDP_GRO"); return 2; }
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr = parse_addr(addr) };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { perror("bind"); return 2; }
    socklen_t length = sizeof local;
    getsockname(fd, (struct sockaddr *)&local, &length);
    setup(cpu, prio);
    static char buffers[SLOTS][SLOT_BYTES];
    static char controls[SLOTS][CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(unsigned int))];
    struct mmsghdr m[SLOTS];
    struct iovec v[SLOTS];
    printf("ready port=%d\n", ntohs(local.sin_port));
    fflush(stdout);
    long long datagrams = 0, reads = 0;
    unsigned int drops = 0;
    long long start = now_ns(), end = start + (long long)(seconds * 1e9), next_print = start, t;
    while ((t = now_ns()) < end) {
        if (t >= next_print) {
            printf("t=%lld datagrams=%lld reads=%lld drops=%u\n", t, datagrams, reads, drops);
            fflush(stdout);
            next_print = t + 50000000LL;
        }
        memset(m, 0, sizeof m);
        for (int i = 0; i < SLOTS; i++) {
            v[i].iov_base = buffers[i];
            v[i].iov_len = SLOT_BYTES;
            m[i].msg_hdr.msg_iov = &v[i];
            m[i].msg_hdr.msg_iovlen = 1;
            m[i].msg_hdr.msg_control = controls[i];
            m[i].msg_hdr.msg_controllen = sizeof controls[i];
        }
        /* Never sleeps: a sleeping reader is woken by the sender's softirq (loopback and veth deliver on the
         * sender's CPU), an IPI per wake-up charged to the sender, more often the slower it sends. */
        int r = recvmmsg(fd, m, SLOTS, MSG_DONTWAIT, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            perror("recvmmsg");
            return 3;
        }
        for (int i = 0; i < r; i++) {
            int segment = 0;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&m[i].msg_hdr, c)) {
                if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) memcpy(&segment, CMSG_DATA(c), sizeof segment);
                else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&drops, CMSG_DATA(c), sizeof drops);
            }
            unsigned int bytes = m[i].msg_len;
            datagrams += segment > 0 && bytes > (unsigned int)segment ? (bytes + segment - 1) / segment : 1;
        }
        reads += r;
    }
    printf("t=%lld datagrams=%lld reads=%lld drops=%u\n", t, datagrams, reads, drops);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "tput") == 0) {
        int port = atoi(argv[2]), cpu = atoi(argv[3]), prio = atoi(argv[4]), batch = atoi(argv[6]);
        double seconds = atof(argv[5]);
        if (batch < 1 || batch > 64) batch = 64;
        int fd = connect_udp(port);
        setup(cpu, prio);
        static char payload[64][64];
        struct mmsghdr m[64];
        struct iovec v[64];
        memset(m, 0, sizeof m);
        for (int i = 0; i < 64; i++) {
            v[i].iov_base = payload[i];
            v[i].iov_len = 64;
            m[i].msg_hdr.msg_iov = &v[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        long long sent = 0, calls = 0, errors = 0;
        long long start = now_ns(), end = start + (long long)(seconds * 1e9), t;
        while ((t = now_ns()) < end) {
            int r = sendmmsg(fd, m, batch, MSG_DONTWAIT);
            calls++;
            if (r > 0) sent += r; else errors++;
        }
        double elapsed = (t - start) / 1e9;
        printf("sent=%lld seconds=%.6f pps=%.0f calls=%lld errors=%lld\n", sent, elapsed, sent / elapsed, calls, errors);
        return 0;
    }
    if (argc >= 8 && strcmp(argv[1], "gso") == 0) {
        int port = atoi(argv[2]), cpu = atoi(argv[3]), prio = atoi(argv[4]), segments = atoi(argv[6]), size = atoi(argv[7]);
        double seconds = atof(argv[5]);
        if (segments < 1 || segments > 64) segments = 64;   /* the kernel's UDP_MAX_SEGMENTS is 128 (64 before 5.5) */
        if (size < 1 || size > 1472) size = 64;
        int fd = connect_udp_to(argc >= 9 ? argv[8] : "127.0.0.1", port);
        setup(cpu, prio);
        static char train[64 * 1472];
        struct iovec v = { .iov_base = train, .iov_len = (size_t)segments * size };
        static struct iovec pieces[64];
        for (int i = 0; i < segments; i++) {
            pieces[i].iov_base = train + i * size;
            pieces[i].iov_len = size;
        }
        int apart = argc >= 10 && atoi(argv[9]) == 1;
        char control[CMSG_SPACE(sizeof(unsigned short))];
        memset(control, 0, sizeof control);
        struct msghdr msg = { .msg_iov = apart ? pieces : &v, .msg_iovlen = apart ? segments : 1, .msg_control = control, .msg_controllen = sizeof control };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = IPPROTO_UDP;   /* SOL_UDP */
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(unsigned short));
        *(unsigned short *)CMSG_DATA(c) = (unsigned short)size;
        long long sent = 0, calls = 0, errors = 0;
        int first_errno = 0;
        long long start = now_ns(), end = start + (long long)(seconds * 1e9), t;
        while ((t = now_ns()) < end) {
            ssize_t r = sendmsg(fd, &msg, MSG_DONTWAIT);
            calls++;
            if (r > 0) sent += segments;
            else { errors++; if (!first_errno) first_errno = errno; }
        }
        double elapsed = (t - start) / 1e9;
        printf("sent=%lld seconds=%.6f pps=%.0f calls=%lld errors=%lld first_errno=%d start_ns=%lld end_ns=%lld\n", sent, elapsed, sent / elapsed, calls, errors, first_errno, start, t);
        return 0;
    }
    if (argc >= 7 && strcmp(argv[1], "rx") == 0) {
        int cpu = atoi(argv[3]), prio = atoi(argv[4]), gro = atoi(argv[6]);
        double seconds = atof(argv[5]);
        return receive(argv[2], cpu, prio, seconds, gro);
    }
    if (argc >= 8 && strcmp(argv[1], "timer") == 0) {
        int port = atoi(argv[2]), cpu = atoi(argv[3]), prio = atoi(argv[4]);
        double seconds = atof(argv[5]);
        long long period = atoll(argv[6]), margin = atoll(argv[7]);
        long n = (long)(seconds * 1e9 / period);
        long long *err = calloc(n, sizeof *err);
        int fd = connect_udp(port);
        setup(cpu, prio);
        char payload[64] = { 0 };
        long long base = now_ns() + 10000000LL;
        for (long i = 0; i < n; i++) {
            long long due = base + i * period, wake = due - margin, t;
            struct timespec ts = { .tv_sec = wake / 1000000000LL, .tv_nsec = wake % 1000000000LL };
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) { }
            while ((t = now_ns()) < due) { }
            err[i] = t - due;
            send(fd, payload, sizeof payload, MSG_DONTWAIT);
        }
        qsort(err, n, sizeof *err, cmp);
        printf("count=%ld p50=%lld p99=%lld p999=%lld max=%lld\n", n, pct(err, n, 0.5), pct(err, n, 0.99), pct(err, n, 0.999), err[n - 1]);
        return 0;
    }
    fprintf(stderr, "usage: see the comment at the top of rtudp_ref.c\n");
    return 1;
}
