/*
 * Enqueue cost of librtudp (issue 20's goal: C <= 0.5 us per packet): clock_gettime(CLOCK_MONOTONIC) around each
 * rtudp_send, then around each rtudp_send_batch of 32 (per packet: the call's time / packets taken), into a sending
 * channel of a running rtudpd. Every packet is due AHEAD_NS after it is enqueued, so the engine holds little and
 * sends them as they come due; when the ring is full the call returns RTUDP_E_AGAIN at once: those calls are counted
 * apart ("again") and left out of the percentiles, which are of calls that wrote.
 *   rtudp_enqueue SOCKET CHANNEL [COUNT (200000)] [SIZE (64)] [AHEAD_NS (1000000)] [CPU (-1: not pinned)]
 * Prints one line of key=value results (ns), "rtudp_enqueue ...".
 */
#define _GNU_SOURCE
#include <rtudp.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 32

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts and returns the value at quantile q (nearest rank). */
static uint32_t percentile(uint32_t *values, long n, double q)
{
    long rank = (long)(q * (double)n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    return values[(rank > n ? n : rank) - 1];
}

static void fail(const char *what, int rc)
{
    fprintf(stderr, "rtudp_enqueue: %s: %d %s\n", what, rc, rtudp_last_error());
    exit(1);
}

static void wait_drained(rtudp_channel *ch)
{
    /* The next run starts from an empty ring: bounded by 10 s. */
    int64_t deadline = now_ns() + 10000000000LL;
    rtudp_stats s;
    do {
        int rc = rtudp_stats_get(ch, &s);
        if (rc < 0) {
            fail("rtudp_stats_get", rc);
        }
        if (s.tx_ring_used_bytes == 0) {
            return;
        }
        sched_yield();
    } while (now_ns() < deadline);
    fprintf(stderr, "rtudp_enqueue: the engine did not empty the ring within 10 s\n");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rtudp_enqueue SOCKET CHANNEL [COUNT] [SIZE] [AHEAD_NS] [CPU]\n");
        return 2;
    }
    long count = argc > 3 ? atol(argv[3]) : 200000;
    uint32_t size = argc > 4 ? (uint32_t)atol(argv[4]) : 64;
    int64_t ahead = argc > 5 ? atoll(argv[5]) : 1000000;
    int cpu = argc > 6 ? atoi(argv[6]) : -1;
    if (count < BATCH || size > 65536) {
        fprintf(stderr, "rtudp_enqueue: COUNT >= %d, SIZE <= 65536\n", BATCH);
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) != 0) {
            fprintf(stderr, "rtudp_enqueue: sched_setaffinity(%d): %s\n", cpu, strerror(errno));
            return 1;
        }
    }

    rtudp_client *client;
    rtudp_channel *ch;
    int rc;
    if ((rc = rtudp_connect(argv[1], &client)) < 0) {
        fail("rtudp_connect", rc);
    }
    if ((rc = rtudp_attach(client, argv[2], RTUDP_ATTACH_SEND, &ch)) < 0) {
        fail("rtudp_attach", rc);
    }

    static uint8_t payload[65536];
    memset(payload, 0x5a, sizeof payload);
    uint32_t *single = malloc(sizeof(uint32_t) * (size_t)count);
    uint32_t *batched = malloc(sizeof(uint32_t) * (size_t)(count / BATCH + 1));
    if (single == NULL || batched == NULL) {
        fprintf(stderr, "rtudp_enqueue: out of memory\n");
        return 1;
    }

    /* What a clock read pair costs by itself (it is inside every figure below). */
    uint32_t overhead[1000];
    for (int i = 0; i < 1000; i++) {
        int64_t a = now_ns();
        int64_t b = now_ns();
        overhead[i] = (uint32_t)(b - a);
    }
    qsort(overhead, 1000, sizeof overhead[0], compare);

    /* Warm-up: the first calls fault in the ring's pages and the library's code. */
    for (long i = 0; i < 1000; i++) {
        while (rtudp_send(ch, payload, size, now_ns() + ahead, 0, 0) == RTUDP_E_AGAIN) {
            sched_yield();
        }
    }
    wait_drained(ch);

    long again_single = 0, n_single = 0;
    int64_t start = now_ns();
    while (n_single < count) {
        int64_t t0 = now_ns();
        rc = rtudp_send(ch, payload, size, t0 + ahead, n_single + 1, 0);
        int64_t t1 = now_ns();
        if (rc == RTUDP_E_AGAIN) {
            again_single++;
            continue;
        }
        if (rc < 0) {
            fail("rtudp_send", rc);
        }
        single[n_single++] = (uint32_t)(t1 - t0);
    }
    double single_rate = (double)count * 1e9 / (double)(now_ns() - start);
    wait_drained(ch);

    rtudp_packet packets[BATCH];
    long again_batch = 0, calls = 0, taken_total = 0;
    start = now_ns();
    while (taken_total < count) {
        uint32_t n = count - taken_total < BATCH ? (uint32_t)(count - taken_total) : BATCH;
        int64_t t0 = now_ns();
        for (uint32_t k = 0; k < n; k++) {
            packets[k] = (rtudp_packet){ .data = payload, .length = size, .flags = 0, .time_ns = t0 + ahead, .packet_id = 0 };
        }
        rc = rtudp_send_batch(ch, packets, n);
        int64_t t1 = now_ns();
        if (rc < 0) {
            fail("rtudp_send_batch", rc);
        }
        if (rc == 0) {
            again_batch++;
            continue;
        }
        batched[calls++] = (uint32_t)((t1 - t0) / rc);
        taken_total += rc;
    }
    double batch_rate = (double)taken_total * 1e9 / (double)(now_ns() - start);
    wait_drained(ch);

    rtudp_stats s;
    if ((rc = rtudp_stats_get(ch, &s)) < 0) {
        fail("rtudp_stats_get", rc);
    }
    qsort(single, (size_t)n_single, sizeof single[0], compare);
    qsort(batched, (size_t)calls, sizeof batched[0], compare);
    printf("rtudp_enqueue packets=%ld size=%u ahead_ns=%lld send_p50_ns=%u send_p99_ns=%u send_p999_ns=%u send_max_ns=%u "
           "send_pkts_per_s=%.0f send_again=%ld batch32_p50_ns_per_pkt=%u batch32_p99_ns_per_pkt=%u batch32_calls=%ld "
           "batch32_pkts_per_s=%.0f batch32_again=%ld clock_pair_p50_ns=%u tx_accepted=%llu tx_malformed=%llu\n",
           count, size, (long long)ahead, percentile(single, n_single, 0.50), percentile(single, n_single, 0.99),
           percentile(single, n_single, 0.999), single[n_single - 1], single_rate, again_single,
           percentile(batched, calls, 0.50), percentile(batched, calls, 0.99), calls, batch_rate, again_batch,
           percentile(overhead, 1000, 0.50), (unsigned long long)s.tx_accepted, (unsigned long long)s.tx_malformed);
    fflush(stdout);
    if ((rc = rtudp_detach(ch)) < 0) {
        fail("rtudp_detach", rc);
    }
    rtudp_disconnect(client);
    free(single);
    free(batched);
    return 0;
}
