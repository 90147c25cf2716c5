namespace RtUdp.Core.Contract.Channels;

/// <summary>What a channel does, numbered as in the original RtUdp (0 send, 1 receive, 2 both).</summary>
public enum ChannelDirection
{
    Send = 0,
    Receive = 1,
    Duplex = 2,
}

/// <summary>How the send worker waits for a packet's time.</summary>
public enum TimingStrategy
{
    /// <summary>Sleep until the packet's time (an absolute hrtimer): cheapest, as late as the timer wake-up.</summary>
    Sleep = 0,

    /// <summary>Sleep until the packet's time minus a margin, then spin on the clock: sub-microsecond when the wake-up beats the margin.</summary>
    Hybrid = 1,

    /// <summary>Spin whenever a packet is queued (sleeps only when the queue is empty). Not allowed at SCHED_FIFO: RT throttling would take the CPU for 50 ms of each second.</summary>
    Spin = 2,

    /// <summary>
    /// Throughput mode, for bulk channels: no packet waits for its time. The worker sends whatever the ring holds
    /// as fast as it is fed, in the order enqueued, in full batches (and GSO trains); nothing is judged late. The
    /// CPU plan and the stats show the channel as bulk, not timed (docs/throughput.md).
    /// </summary>
    Bulk = 3,
}

/// <summary>Whether the send worker gives the kernel packets that are due together as one UDP GSO train (UDP_SEGMENT).</summary>
public enum GsoMode
{
    /// <summary>
    /// Trains where the schedule allows: packets due together in one batch, of one size (the last may be shorter),
    /// to the channel's destination; with launch time only packets of the same launch time. Where the egress device
    /// cannot (no TX checksum offload) or the kernel refuses, sendmmsg, with the reason in the channel's mode.
    /// </summary>
    Auto = 0,

    /// <summary>
    /// Trains of every run of packets due together; with launch time a train leaves at its first packet's time.
    /// The channel refuses to start where the egress device cannot take them.
    /// </summary>
    On = 1,

    /// <summary>One datagram per packet (sendmmsg).</summary>
    Off = 2,
}

/// <summary>Whether the receiving socket takes coalesced datagrams (UDP_GRO), split back into packets by the receive worker.</summary>
public enum GroMode
{
    /// <summary>UDP_GRO where the kernel takes it, else one datagram per read (and say so).</summary>
    Auto = 0,

    /// <summary>UDP_GRO or refuse to start, with the reason.</summary>
    On = 1,

    /// <summary>One datagram per packet.</summary>
    Off = 2,
}

/// <summary>How the receive worker waits for datagrams.</summary>
public enum ReceiveStrategy
{
    /// <summary>poll(2): sleeps until a datagram arrives (the wake-up costs microseconds).</summary>
    Poll = 0,

    /// <summary>
    /// Busy-poll: the worker keeps reading the socket without sleeping, for up to the busy-poll window after the
    /// last datagram (and within the spin budget at SCHED_FIFO), then polls. Where the device has NAPI the socket
    /// also gets SO_BUSY_POLL and SO_PREFER_BUSY_POLL, so each read polls the device's queue itself. For reflectors
    /// and ping-pong.
    /// </summary>
    BusyPoll = 1,
}

/// <summary>What to do with a packet whose time passed more than the late tolerance ago.</summary>
public enum LatePolicy
{
    /// <summary>Send it at once and count it late.</summary>
    SendLate = 0,

    /// <summary>Drop it and count it (dropped: late).</summary>
    Drop = 1,
}

/// <summary>Channel behaviour switches.</summary>
[Flags]
public enum ChannelFlags
{
    None = 0,

    /// <summary>Fail the channel's start if the workers cannot get SCHED_FIFO, their CPU or locked memory, instead of running degraded.</summary>
    RequireRealtime = 1,

    /// <summary>
    /// Let the engine change the NIC's hardware timestamping setting (SIOCSHWTSTAMP) when it does not
    /// already give what the channel needs. The setting is per NIC and shared with ptp4l, so by
    /// default the engine only uses what is already configured. What it changes it puts back when the
    /// last channel using the NIC goes.
    /// </summary>
    AllowNicTimestampConfig = 2,

    /// <summary>Launch time with CLOCK_TAI: schedule even while the kernel's TAI offset is 0 (no ptp4l/phc2sys set it).</summary>
    AllowZeroTaiOffset = 4,

    /// <summary>Launch time: the qdisc's deadline mode (send as soon as possible before the time, not at it).</summary>
    LaunchDeadlineMode = 8,

    /// <summary>
    /// Sequenced flow: the send worker writes a flow header (docs/flow-header.md) at the start of each
    /// payload; the receive worker reads it for loss, duplicates, reordering, latency and jitter.
    /// </summary>
    Sequenced = 16,

    /// <summary>Reflector: the receive worker sends every datagram straight back to its source (not to the RX ring).</summary>
    Reflect = 32,

    /// <summary>
    /// Don't fragment: the DF bit on every datagram (IP_PMTUDISC_DO / IPV6_PMTUDISC_DO). A packet larger than
    /// the path MTU is then dropped (EMSGSIZE, with the MTU reported) instead of leaving in fragments.
    /// </summary>
    DontFragment = 64,

    /// <summary>
    /// Let this channel's pinned workers run on a CPU that another channel's pinned worker owns (and let a later
    /// channel that asks the same share this one's). Without it such a CPU is refused, naming its owner: two
    /// SCHED_FIFO workers on one CPU delay each other's packets.
    /// </summary>
    ShareCpu = 128,
}

/// <summary>Which kernel timestamps a channel asks for.</summary>
public enum TimestampMode
{
    /// <summary>Hardware stamps where the NIC gives them (already configured, or allowed to configure), else software.</summary>
    Auto = 0,

    /// <summary>Hardware stamps or refuse to start, with the reason.</summary>
    Hardware = 1,

    /// <summary>The kernel's software stamps (CLOCK_REALTIME).</summary>
    Software = 2,

    /// <summary>No kernel stamps: latencies use the workers' own clock reads.</summary>
    Off = 3,
}

/// <summary>Whether the send worker hands packets to the kernel ahead of time with SO_TXTIME.</summary>
public enum LaunchTimeMode
{
    /// <summary>User-space timing (the channel's timing strategy).</summary>
    Off = 0,

    /// <summary>Launch time where the egress interface has an etf, taprio or fq qdisc, else user-space timing (and say so).</summary>
    Auto = 1,

    /// <summary>Launch time or refuse to start, with the reason.</summary>
    Required = 2,
}

/// <summary>Which clock a sequenced channel's flow headers carry.</summary>
public enum FlowClock
{
    /// <summary>CLOCK_MONOTONIC: one-way latency only between channels on the same host (round trips anywhere).</summary>
    Monotonic = 0,

    /// <summary>CLOCK_TAI: one-way latency across hosts whose clocks PTP keeps in step.</summary>
    Tai = 1,
}
