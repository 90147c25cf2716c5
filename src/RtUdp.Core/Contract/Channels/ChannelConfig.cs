using System.Net;
using System.Numerics;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// Everything that defines a channel: the original RtUdp object's arguments (local and remote
/// endpoint, CPU, capacity, direction) plus the real-time and accounting knobs.
/// </summary>
public sealed record ChannelConfig
{
    public const int MaxNameLength = 63;
    public const int MaxDatagramPayload = 65507;
    public const int MaxBatch = 64;

    /// <summary>Engine-wide numeric id, assigned by whoever creates channels.</summary>
    public uint Id { get; init; }

    /// <summary>Human name, [a-z0-9._-], used in file names and logs.</summary>
    public string Name { get; init; } = "";

    public ChannelDirection Direction { get; init; } = ChannelDirection.Duplex;

    /// <summary>Address and port to bind. Port 0 lets the kernel choose (see the channel's bound endpoint).</summary>
    public IPEndPoint Local { get; init; } = new(IPAddress.Loopback, 0);

    /// <summary>
    /// The local endpoint when none is given: it follows the remote, as ip and socat do. The remote's own
    /// loopback for a loopback remote (127.0.0.1 or ::1), the wildcard of its family for any other (the
    /// kernel picks the route's source), and 127.0.0.1 without a remote, so that nothing listens beyond
    /// this host unless asked to.
    /// </summary>
    public static IPEndPoint DefaultLocalFor(IPEndPoint? remote) => remote switch
    {
        null => new IPEndPoint(IPAddress.Loopback, 0),
        _ when IPAddress.IsLoopback(remote.Address) => new IPEndPoint(remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !remote.Address.IsIPv4MappedToIPv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0),
        _ => new IPEndPoint(remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0),
    };

    /// <summary>Where packets go; for a receiving channel, the only source accepted (null: any source).</summary>
    public IPEndPoint? Remote { get; init; }

    /// <summary>Packets the send side can hold queued at once (ring and schedule).</summary>
    public int Capacity { get; init; } = 65536;

    /// <summary>Largest payload accepted for sending and receivable without truncation.</summary>
    public int MaxPayload { get; init; } = 9000;

    /// <summary>TX ring size in bytes (power of two); 0 sizes it for <see cref="Capacity"/> packets of 104 bytes.</summary>
    public long TxRingBytes { get; init; }

    /// <summary>RX ring size in bytes (power of two); 0 sizes it for <see cref="Capacity"/> packets of 104 bytes.</summary>
    public long RxRingBytes { get; init; }

    /// <summary>CPU the send worker pins itself to; -1 leaves it unpinned.</summary>
    public int SendCpu { get; init; } = -1;

    /// <summary>CPU the receive worker pins itself to; -1 leaves it unpinned.</summary>
    public int ReceiveCpu { get; init; } = -1;

    /// <summary>SCHED_FIFO priority of both workers (1-99); 0 keeps SCHED_OTHER.</summary>
    public int Priority { get; init; } = PinnedPriority;

    /// <summary>The priority of a channel with a pinned worker that asks none.</summary>
    public const int PinnedPriority = 80;

    /// <summary>
    /// The priority of a channel that asks none: SCHED_FIFO 80 when a worker its direction runs is pinned, SCHED_OTHER
    /// when none is. An unpinned worker shares its CPUs with rtudpd's intake: at SCHED_FIFO, one kept busy (a bulk
    /// sender fed flat out) takes 95% of its CPU from every SCHED_OTHER thread there, and the calls feeding the timed
    /// channels waited up to half a second (docs/cpu-plan.md). A pinned worker owns its CPU and gets SCHED_FIFO.
    /// </summary>
    public static int DefaultPriority(ChannelDirection direction, int sendCpu, int receiveCpu)
    {
        bool sends = direction is ChannelDirection.Send or ChannelDirection.Duplex;
        bool receives = direction is ChannelDirection.Receive or ChannelDirection.Duplex;
        return (sends && sendCpu >= 0) || (receives && receiveCpu >= 0) ? PinnedPriority : 0;
    }

    public TimingStrategy Timing { get; init; } = TimingStrategy.Hybrid;

    /// <summary>Hybrid: how long before a packet's time the worker stops sleeping and starts spinning.</summary>
    public long SpinMarginNs { get; init; } = 100_000;

    public LatePolicy LatePolicy { get; init; } = LatePolicy.SendLate;

    /// <summary>
    /// Same-host clients (docs/shm-clients.md): what their unsent packets get when they detach or die. The daemon's
    /// alone (it tells the engine at each detach), so it is not part of <see cref="ChannelConfigBlock"/>.
    /// </summary>
    public Clients.ClientExitPolicy ClientExit { get; init; } = Clients.ClientExitPolicy.Drain;

    /// <summary>A packet leaving more than this after its time counts as late (and is dropped under <see cref="LatePolicy.Drop"/>).</summary>
    public long LateToleranceNs { get; init; } = 100_000;

    /// <summary>Most packets per sendmmsg / recvmmsg call.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>SO_SNDBUF / SO_RCVBUF in bytes; 0 keeps the kernel default.</summary>
    public int SocketBufferBytes { get; init; } = 4 << 20;

    public ChannelFlags Flags { get; init; }

    public TimestampMode Timestamps { get; init; } = TimestampMode.Auto;

    /// <summary>How long to wait for a packet's hardware TX stamp before counting it missing.</summary>
    public long HardwareStampTimeoutNs { get; init; } = 50_000_000;

    public LaunchTimeMode LaunchTime { get; init; } = LaunchTimeMode.Off;

    /// <summary>Launch time: how long before its time a packet is handed to the kernel.</summary>
    public long LaunchLeadNs { get; init; } = 500_000;

    /// <summary>Sequenced channels: the flow id written in each header sent (tell senders apart at a receiver).</summary>
    public uint FlowId { get; init; }

    /// <summary>Sequenced channels: the clock of the header's times.</summary>
    public FlowClock FlowClock { get; init; } = FlowClock.Monotonic;

    /// <summary>Whether packets due together leave as UDP GSO trains.</summary>
    public GsoMode Gso { get; init; } = GsoMode.Auto;

    /// <summary>Whether the receiving socket takes coalesced datagrams (UDP_GRO).</summary>
    public GroMode Gro { get; init; } = GroMode.Auto;

    /// <summary>How the receive worker waits for datagrams.</summary>
    public ReceiveStrategy ReceiveStrategy { get; init; } = ReceiveStrategy.Poll;

    /// <summary>Busy-poll: how long the receive worker keeps reading without sleeping after the last datagram.</summary>
    public long BusyPollNs { get; init; } = 1_000_000;

    /// <summary>The kernel's UDP socket, or AF_XDP on one queue of the egress interface.</summary>
    public DataPath DataPath { get; init; } = DataPath.Socket;

    /// <summary>xdp: the interface queue the channel owns.</summary>
    public int XdpQueue { get; init; }

    /// <summary>xdp: zero-copy or copy mode.</summary>
    public XdpZeroCopy XdpZeroCopy { get; init; } = XdpZeroCopy.Auto;

    /// <summary>xdp: how the steering program is attached.</summary>
    public XdpAttachMode XdpAttach { get; init; } = XdpAttachMode.Auto;

    /// <summary>
    /// The largest payload an xdp channel carries: one 4 KiB UMEM frame less its TX metadata room and the largest
    /// headers (Ethernet, IPv6, UDP). No multi-buffer: a larger packet would not fit one frame.
    /// </summary>
    public const int XdpMaxPayload = 4096 - 64 - 14 - 40 - 8;

    /// <summary>Most queues an xdp channel may name (the interface's own count is checked when it opens).</summary>
    public const int XdpMaxQueue = 1023;

    public bool Xdp => DataPath == DataPath.Xdp;

    public bool Bulk => Timing == TimingStrategy.Bulk;

    public bool Sequenced => Flags.HasFlag(ChannelFlags.Sequenced);

    public bool Reflects => Flags.HasFlag(ChannelFlags.Reflect);

    public bool Sends => Direction is ChannelDirection.Send or ChannelDirection.Duplex;

    public bool Receives => Direction is ChannelDirection.Receive or ChannelDirection.Duplex;

    /// <summary>Bytes per queued packet assumed when sizing rings: record header, packet header, 64-byte payload.</summary>
    public const int TypicalRecordBytes = 104;

    /// <summary>The ring of a direction the channel does not use is the smallest valid one: its memory would be prefaulted (and locked) for nothing.</summary>
    public int EffectiveTxRingBytes => (int)(TxRingBytes != 0 ? TxRingBytes : SizeRing(Sends ? Capacity : 1));

    public int EffectiveRxRingBytes => (int)(RxRingBytes != 0 ? RxRingBytes : SizeRing(Receives ? Capacity : 1));

    private const long MinRingBytes = 64 * 1024;

    private long SizeRing(int packets)
    {
        long wanted = Math.Max((long)packets * TypicalRecordBytes, 8L * (MaxPayload + 128));
        return (long)BitOperations.RoundUpToPowerOf2((ulong)Math.Clamp(wanted, MinRingBytes, 1L << 30));
    }

    /// <summary>Checks every field; returns the first problem as (field, message), or null when valid.</summary>
    public (string Field, string Message)? Validate()
    {
        if (Name.Length is 0 or > MaxNameLength || !Name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'))
        {
            return ("name", $"must be 1-{MaxNameLength} characters of a-z, 0-9, '.', '_' or '-'");
        }
        if (!Enum.IsDefined(Direction))
        {
            return ("direction", "must be send (0), receive (1) or duplex (2)");
        }
        if (Sends && (Remote is null || Remote.Port == 0 || Remote.Address.Equals(IPAddress.Any) || Remote.Address.Equals(IPAddress.IPv6Any)))
        {
            return ("remote", "a sending channel needs a remote address and a non-zero port");
        }
        if (Remote is not null && Remote.AddressFamily != Local.AddressFamily)
        {
            return ("remote", "must be of the same address family as local");
        }
        if (Capacity is < 1 or > 16_777_216)
        {
            return ("capacity", "must be 1 to 16777216 packets");
        }
        if (MaxPayload is < 1 or > MaxDatagramPayload)
        {
            return ("max_payload", $"must be 1 to {MaxDatagramPayload} bytes");
        }
        foreach ((string field, long bytes) in new[] { ("tx_ring_bytes", TxRingBytes), ("rx_ring_bytes", RxRingBytes) })
        {
            if (bytes != 0 && !RecordRing.IsValidCapacity(bytes))
            {
                return (field, "must be 0 (automatic) or a power of two from 1024 to 1073741824");
            }
        }
        if (TxRingBytes != 0 && TxRingBytes / 8 < MaxPayload + 64)
        {
            return ("tx_ring_bytes", $"must be at least 8 times max_payload + 64 ({MaxPayload})");
        }
        // The receive worker writes each datagram as one record (header, RX packet header, payload),
        // and a record may take at most an eighth of the ring: a smaller ring cannot hold a
        // max_payload datagram, and the worker would fail on the first large one.
        if (RxRingBytes != 0 && RxRingBytes / 8 < MaxPayload + 128)
        {
            return ("rx_ring_bytes", $"must be at least 8 times (max_payload + 128) = {8L * (MaxPayload + 128)} bytes");
        }
        int cpus = Environment.ProcessorCount;
        if (SendCpu < -1 || SendCpu >= 1024)
        {
            return ("send_cpu", $"must be -1 (unpinned) or a CPU number (this host has {cpus})");
        }
        if (ReceiveCpu < -1 || ReceiveCpu >= 1024)
        {
            return ("receive_cpu", $"must be -1 (unpinned) or a CPU number (this host has {cpus})");
        }
        if (Priority is < 0 or > 99)
        {
            return ("priority", "must be 0 (SCHED_OTHER) or a SCHED_FIFO priority 1-99");
        }
        if (!Enum.IsDefined(Timing))
        {
            return ("timing", "must be sleep, hybrid, spin or bulk");
        }
        if (Bulk && LaunchTime != LaunchTimeMode.Off)
        {
            return ("timing", "bulk sends as fast as it is fed, not at packets' times: launch time needs a timed strategy (sleep, hybrid or spin)");
        }
        if (Bulk && LatePolicy == LatePolicy.Drop)
        {
            return ("late_policy", "drop judges packets against their times, which a bulk channel does not keep: use send_late");
        }
        if (Timing == TimingStrategy.Spin && Priority > 0)
        {
            return ("timing", "spin cannot run at SCHED_FIFO (RT throttling takes 50 ms of every second): use hybrid, or priority 0");
        }
        if (SpinMarginNs is < 0 or > 100_000_000)
        {
            return ("spin_margin_ns", "must be 0 to 100000000 (100 ms)");
        }
        if (!Enum.IsDefined(LatePolicy))
        {
            return ("late_policy", "must be send_late or drop");
        }
        if (LateToleranceNs is < 0 or > 10_000_000_000)
        {
            return ("late_tolerance_ns", "must be 0 to 10000000000 (10 s)");
        }
        if (BatchSize is < 1 or > MaxBatch)
        {
            return ("batch_size", $"must be 1 to {MaxBatch}");
        }
        if (!Enum.IsDefined(Timestamps))
        {
            return ("timestamps", "must be auto, hardware, software or off");
        }
        if (HardwareStampTimeoutNs is < 1_000_000 or > 10_000_000_000)
        {
            return ("hardware_stamp_timeout_ns", "must be 1000000 (1 ms) to 10000000000 (10 s)");
        }
        if (!Enum.IsDefined(LaunchTime))
        {
            return ("launch_time", "must be off, auto or required");
        }
        if (LaunchTime != LaunchTimeMode.Off && !Sends)
        {
            return ("launch_time", "needs a sending channel");
        }
        if (LaunchLeadNs is < 10_000 or > 1_000_000_000)
        {
            return ("launch_lead_ns", "must be 10000 (10 us) to 1000000000 (1 s)");
        }
        if (!Enum.IsDefined(FlowClock))
        {
            return ("flow_clock", "must be monotonic or tai");
        }
        if (!Enum.IsDefined(Gso))
        {
            return ("gso", "must be auto, on or off");
        }
        if (Gso == GsoMode.On && !Sends)
        {
            return ("gso", "on needs a sending channel");
        }
        if (!Enum.IsDefined(Gro))
        {
            return ("gro", "must be auto, on or off");
        }
        if (Gro == GroMode.On && !Receives)
        {
            return ("gro", "on needs a receiving channel");
        }
        if (!Enum.IsDefined(ReceiveStrategy))
        {
            return ("receive_strategy", "must be poll or busy_poll");
        }
        if (ReceiveStrategy == ReceiveStrategy.BusyPoll && !Receives)
        {
            return ("receive_strategy", "busy_poll needs a receiving channel");
        }
        if (BusyPollNs is < 0 or > 1_000_000_000)
        {
            return ("busy_poll_ns", "must be 0 to 1000000000 (1 s)");
        }
        if (XdpProblem() is { } xdp)
        {
            return xdp;
        }
        if (Reflects && !Receives)
        {
            return ("flags", "reflect needs a receiving channel (receive or duplex)");
        }
        if (Sequenced && Sends && MaxPayload < Flows.FlowHeader.Length)
        {
            return ("max_payload", $"a sequenced sending channel needs at least {Flows.FlowHeader.Length} bytes (the flow header)");
        }
        if (SocketBufferBytes is < 0 or > 1 << 30)
        {
            return ("socket_buffer_bytes", "must be 0 (kernel default) to 1073741824");
        }
        return null;
    }

    private (string Field, string Problem)? XdpProblem()
    {
        if (!Enum.IsDefined(DataPath))
        {
            return ("data_path", "must be socket or xdp");
        }
        if (!Enum.IsDefined(XdpZeroCopy))
        {
            return ("xdp.zero_copy", "must be auto, on or off");
        }
        if (!Enum.IsDefined(XdpAttach))
        {
            return ("xdp.attach_mode", "must be auto, native or generic");
        }
        if (XdpQueue is < 0 or > XdpMaxQueue)
        {
            return ("xdp.queue", $"must be 0 to {XdpMaxQueue}");
        }
        if (!Xdp)
        {
            return null;
        }
        if (Remote is null)
        {
            return ("remote", "an xdp channel needs a remote: its frames are addressed to the next hop towards it, and it receives only from it");
        }
        if (MaxPayload > XdpMaxPayload)
        {
            return ("max_payload", $"an xdp channel carries at most {XdpMaxPayload} bytes per packet (one 4 KiB UMEM frame)");
        }
        if (Gso == GsoMode.On)
        {
            return ("gso", "on is for the socket path: an xdp channel sends one frame per packet");
        }
        if (Gro == GroMode.On)
        {
            return ("gro", "on is for the socket path: an xdp channel reads one frame per packet");
        }
        if (Reflects)
        {
            return ("flags", "reflect is for the socket path, not xdp");
        }
        return null;
    }
}
