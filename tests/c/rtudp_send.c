/*
 * Sends COUNT packets through librtudp: packet i carries "pkt <i>" (padded to SIZE bytes with '.'), is due at
 * BASE + i * PERIOD_NS where BASE is DELAY_NS after the first send, and has packet id i + 1.
 *   rtudp_send SOCKET CHANNEL COUNT SIZE PERIOD_NS DELAY_NS [batch N] [kill] [pause]
 * batch N: rtudp_send_batch with N packets a call (else rtudp_send). kill: raise SIGKILL right after the last
 * packet is published (no detach, no disconnect: the daemon must notice the connection close). pause: after the
 * first half, print "paused" and wait for a line on stdin (the test restarts the engine meanwhile), then send the
 * second half from a new base ("base2_ns B": packet i due at B + (i - COUNT/2) * PERIOD_NS).
 * Prints "attached ...", "base_ns B", "published COUNT again A", then (without kill) "stats ..." once the engine
 * took every packet (its counters say so, or 10 s passed), and "detach RC".
 */
#include "check.h"
#include <sched.h>
#include <signal.h>
#include <string.h>

#define MAX_BATCH 256

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: rtudp_send SOCKET CHANNEL COUNT SIZE PERIOD_NS DELAY_NS [batch N] [kill]\n");
        return 2;
    }
    long long count = arg_ll(argv[3], "COUNT"), size = arg_ll(argv[4], "SIZE");
    long long period = arg_ll(argv[5], "PERIOD_NS"), delay = arg_ll(argv[6], "DELAY_NS");
    long long batch = 0;
    int kill_after = 0, pause = 0;
    for (int i = 7; i < argc; i++) {
        if (strcmp(argv[i], "batch") == 0 && i + 1 < argc) {
            batch = arg_ll(argv[++i], "batch");
        } else if (strcmp(argv[i], "kill") == 0) {
            kill_after = 1;
        } else if (strcmp(argv[i], "pause") == 0) {
            pause = 1;
        } else {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (size < 16 || size > 65536 || batch < 0 || batch > MAX_BATCH) {
        fprintf(stderr, "SIZE 16..65536, batch 0..%d\n", MAX_BATCH);
        return 2;
    }

    rtudp_client *client;
    rtudp_channel *ch;
    check(rtudp_connect(argv[1], &client), "connect");
    check(rtudp_attach(client, argv[2], RTUDP_ATTACH_SEND, &ch), "attach");
    print_stats("attached", ch);

    static char payloads[MAX_BATCH][65536];
    rtudp_packet packets[MAX_BATCH];
    long long again = 0;
    int64_t base = rtudp_monotonic_ns() + delay;
    printf("base_ns %lld\n", (long long)base);
    fflush(stdout);
    long long first = 0; /* the index due at base */
    int resumed = 0;
    for (long long i = 0; i < count;) {
        if (pause && !resumed && i == count / 2) {
            printf("paused\n");
            fflush(stdout);
            char line[16];
            if (fgets(line, sizeof line, stdin) == NULL) {
                fprintf(stderr, "stdin closed while paused\n");
                return 2;
            }
            first = i;
            resumed = 1;
            base = rtudp_monotonic_ns() + delay;
            printf("base2_ns %lld\n", (long long)base);
            fflush(stdout);
        }
        long long end = pause && !resumed ? count / 2 : count;
        long long n = batch > 0 ? (end - i < batch ? end - i : batch) : 1;
        for (long long k = 0; k < n; k++) {
            char *p = payloads[k];
            memset(p, '.', (size_t)size);
            int written = snprintf(p, (size_t)size, "pkt %lld", i + k);
            p[written] = '.'; /* no NUL in the payload */
            packets[k] = (rtudp_packet){ .data = p, .length = (uint32_t)size, .flags = 0,
                                         .time_ns = base + (i + k - first) * period, .packet_id = i + k + 1 };
        }
        int rc;
        if (batch > 0) {
            rc = rtudp_send_batch(ch, packets, (uint32_t)n);
            if (rc == 0) {
                rc = RTUDP_E_AGAIN;
            }
        } else {
            rc = rtudp_send(ch, packets[0].data, packets[0].length, packets[0].time_ns, packets[0].packet_id, 0);
            if (rc == RTUDP_OK) {
                rc = 1;
            }
        }
        if (rc == RTUDP_E_AGAIN) {
            again++; /* the engine takes the ring at its own pace: let it run, try again */
            sched_yield();
            continue;
        }
        check(rc, batch > 0 ? "send_batch" : "send");
        i += rc;
    }
    printf("published %lld again %lld\n", count, again);
    fflush(stdout);
    if (kill_after) {
        raise(SIGKILL);
    }

    /* Wait (bounded) until the engine took every record, then report the counters. */
    int64_t deadline = rtudp_monotonic_ns() + 10000000000LL;
    rtudp_stats s;
    do {
        check(rtudp_stats_get(ch, &s), "stats_get");
    } while (s.tx_accepted + s.tx_malformed < (uint64_t)count && rtudp_monotonic_ns() < deadline);
    print_stats("stats", ch);
    printf("detach %d\n", rtudp_detach(ch));
    rtudp_disconnect(client);
    return 0;
}
