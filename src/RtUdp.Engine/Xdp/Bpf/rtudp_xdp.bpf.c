// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * rtudp_steer: the receive half of RtUdp's xdp data path (docs/xdp.md).
 *
 * Steers the UDP datagrams of the (rx queue, destination port) pairs listed in `ports` to the
 * AF_XDP socket registered for that queue in `xsks`; passes everything else to the kernel untouched.
 *
 * Matches: Ethernet, at most one 802.1Q/802.1ad tag, then IPv4 (any IHL, i.e. with options;
 * only unfragmented datagrams and first fragments — a later fragment has no UDP header and
 * passes) or IPv6 whose next header is UDP directly (extension headers, including a fragment
 * header, are not walked: such packets pass to the kernel).
 *
 * No black hole by construction: bpf_redirect_map(..., XDP_PASS) returns XDP_PASS when the
 * queue's XSKMAP slot is empty. The kernel clears a slot when its socket is closed, so a closed
 * socket or a dead engine makes its traffic fall back to the kernel's stack even if the program
 * itself is still attached.
 *
 * Loaded through libxdp's multi-program dispatcher: XDP_RUN_CONFIG gives its run priority and the
 * actions after which the dispatcher goes on to the next program (XDP_PASS), so other XDP users
 * on the same interface, and other RtUdp channels on other queues, each get what we pass.
 *
 * Build: clang -O2 -g -target bpf (BTF is required by the dispatcher's freplace attach).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdp/xdp_helpers.h>

/* Kept in step with src/RtUdp.Core/Xdp/XdpSteeringProgram.cs (XdpSteerKey, MapCapacity). */
#define RTUDP_MAX_QUEUES 256
#define RTUDP_MAX_PORTS 1024

struct rtudp_steer_key {
	__u32 queue;    /* rx queue index, host order */
	__u16 port;     /* destination UDP port, network order (as on the wire) */
	__u16 reserved; /* zero */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RTUDP_MAX_PORTS);
	__type(key, struct rtudp_steer_key);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, RTUDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* Priority 40: ahead of the default (50), so a generic program loaded without a priority sees only
 * what we pass. Chain on XDP_PASS: whatever we do not steer goes on to the next program. */
struct {
	__uint(priority, 40);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(rtudp_steer);

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

SEC("xdp")
int rtudp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	__u16 proto;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	l3 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlan = l3;

		if ((void *)(vlan + 1) > data_end)
			return XDP_PASS;
		proto = vlan->encapsulated_proto;
		l3 = vlan + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		__u32 ihl;

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		if (ip->protocol != IPPROTO_UDP)
			return XDP_PASS;
		/* A non-first fragment carries no UDP header. */
		if (ip->frag_off & bpf_htons(IP_OFFSET))
			return XDP_PASS;
		ihl = ip->ihl * 4;
		if (ihl < sizeof(*ip))
			return XDP_PASS;
		udp = (void *)ip + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		if (ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		udp = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;

	struct rtudp_steer_key key = {
		.queue = ctx->rx_queue_index,
		.port = udp->dest,
		.reserved = 0,
	};
	if (!bpf_map_lookup_elem(&ports, &key))
		return XDP_PASS;

	/* An empty slot (no socket yet, socket closed, engine dead) returns XDP_PASS. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "Dual BSD/GPL";
