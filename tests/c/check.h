/* What the test programs share: failing loudly with librtudp's own message. */
#ifndef RTUDP_TEST_CHECK_H
#define RTUDP_TEST_CHECK_H

#include <rtudp.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints "error WHAT CODE MESSAGE" and exits 3 when rc is negative; returns rc otherwise. */
static inline int check(int rc, const char *what)
{
    if (rc < 0) {
        printf("error %s %d %s\n", what, rc, rtudp_last_error());
        fflush(stdout);
        exit(3);
    }
    return rc;
}

static inline long long arg_ll(const char *text, const char *name)
{
    char *end;
    long long value = strtoll(text, &end, 10);
    if (*text == '\0' || *end != '\0') {
        fprintf(stderr, "bad %s: %s\n", name, text);
        exit(2);
    }
    return value;
}

static inline void print_stats(const char *tag, rtudp_channel *ch)
{
    rtudp_stats s;
    check(rtudp_stats_get(ch, &s), "stats_get");
    printf("%s tx_accepted=%llu tx_malformed=%llu tx_throttled=%llu tx_dropped_detach=%llu rx_delivered=%llu "
           "rx_unread_detach=%llu faults=%llu tx_ring_used_bytes=%llu tx_ring_capacity=%llu rx_ring_used_bytes=%llu "
           "rx_ring_capacity=%llu state=%u engine_epoch=%u channel_id=%u client_id=%u max_payload=%u\n",
           tag, (unsigned long long)s.tx_accepted, (unsigned long long)s.tx_malformed,
           (unsigned long long)s.tx_throttled, (unsigned long long)s.tx_dropped_detach,
           (unsigned long long)s.rx_delivered, (unsigned long long)s.rx_unread_detach, (unsigned long long)s.faults,
           (unsigned long long)s.tx_ring_used_bytes, (unsigned long long)s.tx_ring_capacity,
           (unsigned long long)s.rx_ring_used_bytes, (unsigned long long)s.rx_ring_capacity, s.state,
           s.engine_epoch, s.channel_id, s.client_id, s.max_payload);
    fflush(stdout);
}

#endif
