/*
 * rtudp.h: librtudp, same-host clients of rtudpd over shared memory (ABI version 1).
 *
 * A client connects to rtudpd's broker socket, attaches to a channel and gets a memory region of its own: a TX
 * ring it writes packets into (the engine takes, checks and schedules them) and, on a receiving channel, an RX
 * ring the engine fills. The contract (layout, records, status codes, lifetime) is docs/shm-clients.md.
 *
 * Errors: every call that can fail returns a negative RTUDP_E_* code and sets a thread-local message,
 * rtudp_last_error(). Nothing is printed, nothing aborts.
 *
 * Threads: an rtudp_client may be shared between threads for rtudp_attach. One rtudp_channel per sending
 * thread (its TX ring has a single producer: two threads sending on one rtudp_channel corrupt it, and the engine
 * then stops reading it: RTUDP_E_FAULTED); receive on a channel from one thread at a time. rtudp_stats_get may
 * be called from any thread. rtudp_detach and rtudp_disconnect must not race other calls on what they free.
 *
 * Times: CLOCK_MONOTONIC nanoseconds (rtudp_monotonic_ns()), as the engine schedules them.
 *
 * Build: cc app.c $(pkg-config --cflags --libs rtudp)
 */
#ifndef RTUDP_H
#define RTUDP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RTUDP_ABI_VERSION 1

/* Status codes: 0 or a negative RTUDP_E_* (docs/shm-clients.md, "Status codes"). */
#define RTUDP_OK 0
#define RTUDP_E_INVALID (-1)      /* a bad argument (the message names it) */
#define RTUDP_E_NOT_FOUND (-2)    /* no such channel */
#define RTUDP_E_PERMISSION (-3)   /* not allowed (user, group) */
#define RTUDP_E_AGAIN (-4)        /* the ring is full (or the engine is throttling this client): try again */
#define RTUDP_E_TIMEOUT (-5)      /* nothing received within the timeout */
#define RTUDP_E_TOO_LARGE (-6)    /* payload over the channel's max payload */
#define RTUDP_E_DETACHED (-7)     /* the attachment ended (detached, channel deleted, engine restart failed) */
#define RTUDP_E_FAULTED (-8)      /* the engine found the ring corrupt and stopped reading it */
#define RTUDP_E_VERSION (-9)      /* ABI or layout version mismatch */
#define RTUDP_E_CONNECT (-10)     /* the daemon's socket could not be reached */
#define RTUDP_E_EXHAUSTED (-11)   /* a limit (attachments) refused */
#define RTUDP_E_PRECONDITION (-12) /* the channel cannot do it (direction, already has a receiver, not running) */
#define RTUDP_E_SYSTEM (-13)      /* a system call failed (the message names it and its errno) */
#define RTUDP_E_BUFFER (-14)      /* the receive buffer is smaller than the packet (the packet stays) */

/* rtudp_send / rtudp_packet.flags */
#define RTUDP_SEND_IMMEDIATE 1u   /* send as soon as possible; time_ns is ignored */

/* rtudp_attach flags (0: as the channel's direction) */
#define RTUDP_ATTACH_SEND 1u
#define RTUDP_ATTACH_RECEIVE 2u

/* rtudp_stats.state */
#define RTUDP_STATE_ATTACHED 1u
#define RTUDP_STATE_DETACHED 2u
#define RTUDP_STATE_FAULTED 3u
#define RTUDP_STATE_REATTACHING 4u /* the engine restarted; the daemon is handing the ring to the new one */

/* rtudp_rx_info.stamp_source */
#define RTUDP_STAMP_NONE 0
#define RTUDP_STAMP_WORKER 1      /* the receive worker's clock when it took the datagram */
#define RTUDP_STAMP_SOFTWARE 2    /* the kernel's software RX stamp */
#define RTUDP_STAMP_HARDWARE 3    /* the NIC's hardware RX stamp */

/* rtudp_rx_info.flags */
#define RTUDP_RX_COALESCED 1u     /* the kernel coalesced several datagrams (GRO) into this one */

typedef struct rtudp_client rtudp_client;   /* a connection to rtudpd */
typedef struct rtudp_channel rtudp_channel; /* one attachment */

/* One packet of rtudp_send_batch (32 bytes). */
typedef struct {
    const void *data;   /* the payload, copied into the ring before the call returns */
    uint32_t length;    /* bytes; 0 to the channel's max payload */
    uint32_t flags;     /* RTUDP_SEND_IMMEDIATE or 0 */
    int64_t time_ns;    /* due time, CLOCK_MONOTONIC ns (> 0, within the daemon's scheduling horizon) */
    int64_t packet_id;  /* the gRPC API's packet id rules (0: none) */
} rtudp_packet;

/* What rtudp_receive reports about the packet it returns (72 bytes). */
typedef struct {
    uint32_t length;              /* payload bytes (also the return value) */
    int32_t stamp_source;         /* RTUDP_STAMP_*: where best_monotonic_ns comes from */
    int64_t kernel_realtime_ns;   /* the kernel's software RX stamp, CLOCK_REALTIME ns (0: none) */
    int64_t hardware_raw_ns;      /* the NIC's hardware RX stamp, its PHC's ns (0: none) */
    int64_t best_monotonic_ns;    /* the best stamp there is, as CLOCK_MONOTONIC ns */
    int64_t worker_monotonic_ns;  /* the receive worker's CLOCK_MONOTONIC when it took the datagram */
    uint8_t source_addr[16];      /* the sender's address; IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
    uint16_t source_port;         /* host byte order */
    uint16_t source_family;       /* AF_INET (2) or AF_INET6 (10) */
    uint32_t flags;               /* RTUDP_RX_* */
    int64_t sequence;             /* the receive worker's sequence number of the datagram */
} rtudp_rx_info;

/* The attachment's counters and state (112 bytes), read from the region without a round trip. */
typedef struct {
    uint64_t tx_accepted;         /* records the engine took and queued for sending */
    uint64_t tx_malformed;        /* records skipped: a packet the daemon would have refused */
    uint64_t tx_throttled;        /* records that waited for a per-client limit */
    uint64_t tx_dropped_detach;   /* records dropped at detach (client_exit policy drop) */
    uint64_t rx_delivered;        /* records the engine wrote to the RX ring */
    uint64_t rx_unread_detach;    /* records left unread in the RX ring at detach */
    uint64_t faults;              /* times the engine found the ring corrupt */
    uint64_t tx_ring_used_bytes;  /* written but not yet taken by the engine */
    uint64_t tx_ring_capacity;
    uint64_t rx_ring_used_bytes;  /* written by the engine, not yet read */
    uint64_t rx_ring_capacity;
    uint32_t state;               /* RTUDP_STATE_* */
    uint32_t engine_epoch;        /* bumped each time the ring is handed to a restarted engine */
    uint32_t channel_id;
    uint32_t client_id;           /* unique for the daemon's life */
    uint32_t max_payload;         /* the channel's, bytes */
    uint32_t reserved;
} rtudp_stats;

/* RTUDP_ABI_VERSION of the library loaded (compare with the header's). Never fails. */
uint32_t rtudp_abi_version(void);

/*
 * The calling thread's message for its last failing call: UTF-8, NUL-terminated, owned by the library, valid until
 * the same thread's next failing call. "" if none of the thread's calls has failed. Never NULL.
 */
const char *rtudp_last_error(void);

/*
 * Connects to rtudpd's broker socket. socket_path NULL: $RTUDP_SHM_SOCKET when set, else rtudp-shm.sock beside
 * $RTUDP_SOCKET when that is set, else beside the default gRPC sockets (/run/rtudp/ for the system service,
 * $XDG_RUNTIME_DIR/rtudp/ or /tmp/rtudp-$USER/ for a user's daemon; the first that exists).
 * Blocks for the connect only (a local socket). *out is set on success, NULL otherwise.
 * Errors: RTUDP_E_INVALID (out NULL), RTUDP_E_CONNECT (no daemon there), RTUDP_E_PERMISSION, RTUDP_E_SYSTEM.
 */
int rtudp_connect(const char *socket_path, rtudp_client **out);

/* Detaches every channel still attached through the client (as rtudp_detach), closes it and frees it. NULL: no-op. */
void rtudp_disconnect(rtudp_client *client);

/*
 * Attaches to a channel by name ("tx" or "channels/tx"): asks the daemon for a region and maps it. flags:
 * RTUDP_ATTACH_SEND and/or RTUDP_ATTACH_RECEIVE, 0 for the channel's direction. Rings are 1 MiB each.
 * One round trip to the daemon (blocks until it answers). *out is set on success, NULL otherwise.
 * Errors: RTUDP_E_INVALID, RTUDP_E_NOT_FOUND, RTUDP_E_PERMISSION, RTUDP_E_PRECONDITION (direction, a receiver
 * already attached, channel not running), RTUDP_E_EXHAUSTED, RTUDP_E_VERSION, RTUDP_E_CONNECT (the daemon went
 * away), RTUDP_E_SYSTEM.
 */
int rtudp_attach(rtudp_client *client, const char *channel, uint32_t flags, rtudp_channel **out);

/*
 * Writes one packet into the TX ring and publishes it; the engine sends it at time_ns (or at once with
 * RTUDP_SEND_IMMEDIATE). Never blocks, never allocates. The payload is copied before the call returns.
 * Returns RTUDP_OK, or RTUDP_E_AGAIN (ring full or throttled: nothing written, try again), RTUDP_E_TOO_LARGE,
 * RTUDP_E_INVALID (NULL data with a length, unknown flags, not attached for sending), RTUDP_E_DETACHED,
 * RTUDP_E_FAULTED. A packet the engine refuses later (a time beyond the horizon, a bad id) is counted in
 * tx_malformed, not reported here.
 */
int rtudp_send(rtudp_channel *ch, const void *data, uint32_t length, int64_t time_ns, int64_t packet_id, uint32_t flags);

/*
 * Writes count packets in order and publishes them together (one release store, one wake-up at most).
 * Returns the number taken (0..count): it stops at the first packet that does not fit in the ring, and that
 * packet and the rest are not written. A negative code if nothing could be written for another reason (the first
 * packet's RTUDP_E_TOO_LARGE or RTUDP_E_INVALID, RTUDP_E_DETACHED, RTUDP_E_FAULTED); a packet refused for such a
 * reason after others were written ends the batch there (the count so far is returned, the message says why).
 * A full ring before the first packet returns 0 (and sets the message as RTUDP_E_AGAIN would). Never blocks.
 */
int rtudp_send_batch(rtudp_channel *ch, const rtudp_packet *packets, uint32_t count);

/*
 * Takes the next packet from the RX ring into buffer. timeout_ns: 0 returns at once, > 0 waits up to that long,
 * < 0 waits until a packet comes (or the attachment ends). info may be NULL.
 * Returns the payload length (>= 0), or RTUDP_E_TIMEOUT, RTUDP_E_BUFFER (capacity < the packet's length: the packet
 * stays in the ring, info->length says how much is needed), RTUDP_E_INVALID (not attached for receiving),
 * RTUDP_E_DETACHED, RTUDP_E_FAULTED. Never allocates.
 */
int rtudp_receive(rtudp_channel *ch, void *buffer, uint32_t capacity, int64_t timeout_ns, rtudp_rx_info *info);

/* Reads the attachment's counters and state into *out. Never blocks. Errors: RTUDP_E_INVALID. */
int rtudp_stats_get(rtudp_channel *ch, rtudp_stats *out);

/*
 * Ends the attachment and frees ch (even when it fails). The records already published are handled by the channel's
 * client_exit policy (drain: sent; drop: counted as tx_dropped_detach); detach waits up to 2 s for the engine to take
 * the ring. Returns RTUDP_OK, or RTUDP_E_DETACHED (it had already ended), RTUDP_E_CONNECT / RTUDP_E_SYSTEM (the daemon
 * could not be told; it detaches the ring when the connection closes).
 */
int rtudp_detach(rtudp_channel *ch);

/* CLOCK_MONOTONIC now, in ns: the clock time_ns is on (from the vDSO, no system call). */
int64_t rtudp_monotonic_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* RTUDP_H */
