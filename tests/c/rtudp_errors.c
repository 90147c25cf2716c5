/*
 * librtudp's error paths, one line each: "CASE RC MESSAGE" (MESSAGE: rtudp_last_error() after the call).
 *   rtudp_errors SOCKET SEND_CHANNEL UNKNOWN_CHANNEL MISSING_SOCKET
 * Besides the failures, send_max (exactly the max payload) and batch_second_too_large (one packet taken) succeed, and
 * "stats ..." shows what the engine was given. Exits 0 when every call returned (whatever it returned).
 */
#include "check.h"
#include <string.h>

static void report(const char *what, int rc)
{
    printf("%s %d %s\n", what, rc, rc < 0 ? rtudp_last_error() : "");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: rtudp_errors SOCKET SEND_CHANNEL UNKNOWN_CHANNEL MISSING_SOCKET\n");
        return 2;
    }
    rtudp_client *client = (rtudp_client *)1;
    report("connect_missing", rtudp_connect(argv[4], &client));
    printf("connect_missing_out %s\n", client == NULL ? "null" : "set");
    report("connect_null_out", rtudp_connect(argv[1], NULL));

    check(rtudp_connect(argv[1], &client), "connect");
    rtudp_channel *ch = (rtudp_channel *)1;
    report("attach_unknown", rtudp_attach(client, argv[3], RTUDP_ATTACH_SEND, &ch));
    printf("attach_unknown_out %s\n", ch == NULL ? "null" : "set");
    report("attach_bad_flags", rtudp_attach(client, argv[2], 4u, &ch));

    check(rtudp_attach(client, argv[2], RTUDP_ATTACH_SEND, &ch), "attach");
    rtudp_stats s;
    check(rtudp_stats_get(ch, &s), "stats_get");
    static char payload[1 << 17];
    memset(payload, 'x', sizeof payload);
    int64_t due = rtudp_monotonic_ns() + 1000000;
    report("send_too_large", rtudp_send(ch, payload, s.max_payload + 1, due, 0, 0));
    report("send_max", rtudp_send(ch, payload, s.max_payload, due, 0, 0));
    report("send_bad_flags", rtudp_send(ch, payload, 10, due, 0, 0x80u));
    report("send_null_data", rtudp_send(ch, NULL, 10, due, 0, 0));
    rtudp_packet packets[2] = {
        { .data = payload, .length = s.max_payload + 1, .flags = 0, .time_ns = due, .packet_id = 0 },
        { .data = payload, .length = 10, .flags = 0, .time_ns = due, .packet_id = 0 },
    };
    report("batch_too_large", rtudp_send_batch(ch, packets, 2));
    packets[0].length = 10;
    packets[1].length = s.max_payload + 1;
    report("batch_second_too_large", rtudp_send_batch(ch, packets, 2));
    report("batch_null", rtudp_send_batch(ch, NULL, 2));
    report("batch_empty", rtudp_send_batch(ch, packets, 0));
    char buffer[64];
    report("receive_on_sender", rtudp_receive(ch, buffer, sizeof buffer, 0, NULL));
    report("send_null_channel", rtudp_send(NULL, payload, 10, due, 0, 0));
    report("stats_null", rtudp_stats_get(ch, NULL));
    rtudp_channel *other;
    report("attach_null_client", rtudp_attach(NULL, argv[2], RTUDP_ATTACH_SEND, &other));
    print_stats("stats", ch);
    report("detach", rtudp_detach(ch));
    rtudp_disconnect(client);
    rtudp_disconnect(NULL);
    return 0;
}
