/*
 * What librtudp does without a daemon, one "key value" line each:
 *   abi_version N           rtudp_abi_version() (the header's RTUDP_ABI_VERSION is header_abi_version)
 *   initial_error "TEXT"    rtudp_last_error() before any call failed (must be "")
 *   clock_diff_ns N         rtudp_monotonic_ns() minus clock_gettime(CLOCK_MONOTONIC) taken around it (0 if between)
 *   main_error "TEXT"       this thread's message after a failed connect to MISSING_SOCKET
 *   thread_error "TEXT"     another thread's message after its own failure (rtudp_send on NULL)
 *   main_error_after "TEXT" this thread's message again: the other thread's failure did not touch it
 *   long_error_length N     strlen of the message for a 1000-byte socket path (cut to fit the library's buffer)
 *   long_error_valid_utf8 0|1
 *   rtudp_basics MISSING_SOCKET
 */
#include "check.h"
#include <pthread.h>
#include <string.h>
#include <time.h>

static char thread_message[1024];

static void *other_thread(void *arg)
{
    (void)arg;
    int rc = rtudp_send(NULL, "x", 1, 1, 0, 0);
    snprintf(thread_message, sizeof thread_message, "%d %s", rc, rtudp_last_error());
    return NULL;
}

/* 1 if text is well-formed UTF-8 (no sequence cut in the middle). */
static int valid_utf8(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80 ? 0 : (*s & 0xE0) == 0xC0 ? 1 : (*s & 0xF0) == 0xE0 ? 2 : (*s & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0) {
            return 0;
        }
        s++;
        for (int i = 0; i < n; i++, s++) {
            if ((*s & 0xC0) != 0x80) {
                return 0;
            }
        }
    }
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rtudp_basics MISSING_SOCKET\n");
        return 2;
    }
    printf("abi_version %u\n", rtudp_abi_version());
    printf("header_abi_version %d\n", RTUDP_ABI_VERSION);
    printf("initial_error \"%s\"\n", rtudp_last_error());

    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t ours = rtudp_monotonic_ns();
    clock_gettime(CLOCK_MONOTONIC, &b);
    int64_t before = (int64_t)a.tv_sec * 1000000000LL + a.tv_nsec, after = (int64_t)b.tv_sec * 1000000000LL + b.tv_nsec;
    printf("clock_diff_ns %lld\n", (long long)(ours < before ? ours - before : ours > after ? ours - after : 0));

    rtudp_client *client;
    int rc = rtudp_connect(argv[1], &client);
    printf("main_rc %d\n", rc);
    printf("main_error \"%s\"\n", rtudp_last_error());
    pthread_t thread;
    if (pthread_create(&thread, NULL, other_thread, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        fprintf(stderr, "pthread failed\n");
        return 1;
    }
    printf("thread_error \"%s\"\n", thread_message);
    printf("main_error_after \"%s\"\n", rtudp_last_error());

    /* A path of 1000 bytes whose multi-byte characters straddle the message buffer's end somewhere. */
    char path[1001];
    size_t at = 0;
    path[at++] = '/';
    while (at + 2 <= 1000) {
        path[at++] = (char)0xC3; /* U+00E9, two bytes */
        path[at++] = (char)0xA9;
    }
    path[at] = '\0';
    rc = rtudp_connect(path, &client);
    printf("long_rc %d\n", rc);
    printf("long_error_length %zu\n", strlen(rtudp_last_error()));
    printf("long_error_valid_utf8 %d\n", valid_utf8((const unsigned char *)rtudp_last_error()));
    return 0;
}
