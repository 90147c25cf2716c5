/*
 * Receives COUNT packets through librtudp, each within TIMEOUT_NS.
 *   rtudp_recv SOCKET CHANNEL COUNT TIMEOUT_NS
 * Prints "ready" once attached, then per packet
 *   "rx LENGTH SEQUENCE BEST_MONOTONIC_NS WORKER_MONOTONIC_NS KERNEL_REALTIME_NS STAMP_SOURCE FAMILY PORT ADDR16HEX FLAGS TEXT"
 * (TEXT: the payload up to its first '.'), then "stats ..." (once rx_delivered counts them all, or after 5 s) and
 * "detach RC". A timeout prints "timeout N" and exits 4.
 */
#include "check.h"
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: rtudp_recv SOCKET CHANNEL COUNT TIMEOUT_NS\n");
        return 2;
    }
    long long count = arg_ll(argv[3], "COUNT"), timeout = arg_ll(argv[4], "TIMEOUT_NS");
    rtudp_client *client;
    rtudp_channel *ch;
    check(rtudp_connect(argv[1], &client), "connect");
    check(rtudp_attach(client, argv[2], RTUDP_ATTACH_RECEIVE, &ch), "attach");
    printf("ready\n");
    fflush(stdout);

    static char buffer[65536];
    for (long long i = 0; i < count; i++) {
        rtudp_rx_info info;
        memset(&info, 0xAB, sizeof info); /* every field must be written */
        int n = rtudp_receive(ch, buffer, sizeof buffer, timeout, &info);
        if (n == RTUDP_E_TIMEOUT) {
            printf("timeout %lld %s\n", i, rtudp_last_error());
            print_stats("stats", ch);
            return 4;
        }
        check(n, "receive");
        if ((uint32_t)n != info.length) {
            printf("error length %d %u\n", n, info.length);
            return 3;
        }
        char hex[33];
        for (int b = 0; b < 16; b++) {
            snprintf(hex + 2 * b, 3, "%02x", info.source_addr[b]);
        }
        char *dot = memchr(buffer, '.', (size_t)n);
        int text = dot ? (int)(dot - buffer) : n;
        printf("rx %d %lld %lld %lld %lld %d %u %u %s %u %.*s\n", n, (long long)info.sequence,
               (long long)info.best_monotonic_ns, (long long)info.worker_monotonic_ns,
               (long long)info.kernel_realtime_ns, info.stamp_source, info.source_family, info.source_port, hex,
               info.flags, text, buffer);
    }
    fflush(stdout);
    /* The engine counts a delivery after it publishes the record: wait (bounded) for the counter to catch up. */
    int64_t deadline = rtudp_monotonic_ns() + 5000000000LL;
    rtudp_stats s;
    do {
        check(rtudp_stats_get(ch, &s), "stats_get");
    } while (s.rx_delivered < (uint64_t)count && rtudp_monotonic_ns() < deadline);
    print_stats("stats", ch);
    printf("detach %d\n", rtudp_detach(ch));
    rtudp_disconnect(client);
    return 0;
}
