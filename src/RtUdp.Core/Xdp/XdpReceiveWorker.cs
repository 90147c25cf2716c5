using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Engine;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Net;
using RtUdp.Core.Timestamping;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Xdp;

/// <summary>
/// An xdp channel's receive worker: takes the frames the steering program put in the AF_XDP socket's RX ring, checks
/// each is a valid UDP datagram for the channel (headers, checksums, port, and the remote it accepts), and copies its
/// payload with its source into the RX ring, as the socket path's <see cref="ReceiveWorker"/> does. Frames go back to
/// the kernel through the fill ring at once. Packets carry the worker's read time (AF_XDP has no kernel stamps).
/// Allocates nothing, takes no lock, logs nothing.
/// </summary>
/// <remarks>
/// Counted: every frame in <see cref="ChannelCounter.Received"/>; those that were no datagram for the channel in
/// <see cref="ChannelCounter.RxXdpRejected"/> (bad checksums also in <see cref="ChannelCounter.RxXdpBadChecksum"/>); a
/// full RX ring in <see cref="ChannelCounter.RxDroppedOverflow"/>; frames the kernel dropped for want of a fill buffer or
/// RX ring room (XDP_STATISTICS) in <see cref="ChannelCounter.RxDroppedKernel"/>, read while idle and at the end.
/// </remarks>
public sealed unsafe class XdpReceiveWorker : IChannelWorker
{
    private const int PollTimeoutMs = (int)(AgentRunner.MaxWaitNs / 1_000_000);

    private readonly ChannelRegion _region;
    private readonly XskSocket _socket;
    private readonly RecordRing _ring;
    private readonly WorkerHealth _health;
    private readonly ChannelConfigBlock _config;
    private readonly bool _memoryLocked;
    private readonly Engine.Cpus.UnpinnedPlacement _unpinned;
    private readonly int _batchSize;
    private readonly int _maxPayload;
    private readonly ushort _port;
    private readonly int _wakeFd;
    private readonly pollfd* _pollSet;
    private readonly FlowReceiver? _flows;

    // The one source a channel with a remote accepts (the socket path's connect()): its address, and port unless 0.
    private readonly EndpointBlock _remote;
    private readonly bool _filterSource;
    private long _sequence;
    private long _kernelDropsSeen;
    private long _nextDropReadNs;

    public XdpReceiveWorker(ChannelRegion region, XdpChannelPort port, ushort localPort, bool memoryLocked, Engine.Cpus.UnpinnedPlacement? unpinned = null)
    {
        _unpinned = unpinned ?? Engine.Cpus.UnpinnedPlacement.Inherited;
        _region = region;
        _socket = port.Socket;
        _config = region.Config;
        _ring = region.RxRing;
        _memoryLocked = memoryLocked;
        _health = new WorkerHealth(region, sendWorker: false);
        _batchSize = _config.BatchSize;
        _maxPayload = _config.MaxPayload;
        _port = localPort;
        _remote = _config.Remote;
        _filterSource = _config.Remote.ToIPEndPoint() is { } remote && !remote.Address.Equals(IPAddress.Any) && !remote.Address.Equals(IPAddress.IPv6Any);
        _wakeFd = Errno.Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
        _pollSet = (pollfd*)NativeMemory.AllocZeroed(2, (nuint)sizeof(pollfd));
        _pollSet[0].fd = _socket.Fd;
        _pollSet[0].events = POLLIN;
        _pollSet[1].fd = _wakeFd;
        _pollSet[1].events = POLLIN;
        _flows = ((ChannelFlags)_config.Flags).HasFlag(ChannelFlags.Sequenced) ? new FlowReceiver(region) : null;
        // The socket outlives a stop and start: the kernel's drop count goes on from what earlier workers saw.
        _kernelDropsSeen = KernelDrops();
    }

    public string RoleName => $"rt-rx-{_config.Id}";

    public string? SetupProblem { get; private set; }

    public void OnStart()
    {
        SetupProblem = _health.SetUpRealtime(_config.ReceiveCpu, _config.Priority, _memoryLocked, (ChannelFlags)_config.Flags, _unpinned);
        JitWarmUp.Prepare(typeof(XdpReceiveWorker));
        JitWarmUp.Prepare(typeof(XskSocket));
        JitWarmUp.Prepare(typeof(UdpFrameParser));
        JitWarmUp.Prepare(typeof(InternetChecksum));
        JitWarmUp.Prepare(typeof(RecordRing));
        JitWarmUp.Prepare(typeof(ChannelRegion));
        JitWarmUp.Prepare(typeof(FlowReceiver));
        JitWarmUp.Prepare(typeof(FlowHeader));
        _health.Set(WorkerHealthField.State, (long)WorkerState.Running);
    }

    public void DoWork()
    {
        long now = Libc.MonotonicNow();
        _health.Beat(now);
        int count = _socket.PeekRx(_batchSize);
        if (count > 0)
        {
            _region.Add(ChannelCounter.RxCalls, 1);
            Deliver(count, now);
            _socket.ReleaseRx();
            Refill();
            return;
        }
        Refill();
        if (now >= _nextDropReadNs)
        {
            ReadKernelDrops(now);
        }
        _ = poll(_pollSet, 2, PollTimeoutMs);
    }

    private void Refill()
    {
        _ = _socket.RefillRx();
        if (_socket.KickRx() == XdpKickResult.Failed)
        {
            _region.ErrnoCounter(sendSide: false, _socket.LastRxKickErrno)++;
        }
    }

    private void Deliver(int count, long workerNow)
    {
        _flows?.BeginBatch(ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2).OffsetNs);
        int written = 0, overflow = 0, rejected = 0, badChecksum = 0, truncated = 0;
        for (int slot = 0; slot < count; slot++)
        {
            ref readonly Libc.xdp_desc descriptor = ref _socket.RxDescriptor(slot);
            UdpFrameVerdict verdict = UdpFrameParser.Parse(_socket.RxData(slot), (int)descriptor.len, _port, out UdpFrame frame);
            if (verdict != UdpFrameVerdict.Accepted || (_filterSource && !FromRemote(frame)))
            {
                rejected++;
                badChecksum += verdict is UdpFrameVerdict.BadIpChecksum or UdpFrameVerdict.BadUdpChecksum ? 1 : 0;
                continue;
            }
            if (frame.PayloadLength > _maxPayload)
            {
                truncated++;
                continue;
            }
            _flows?.OnPacket(new ReadOnlySpan<byte>(frame.Payload, frame.PayloadLength), workerNow);
            if (WriteRecord(frame, workerNow))
            {
                written++;
            }
            else
            {
                overflow++;
            }
        }
        _flows?.EndBatch();
        _region.Add(ChannelCounter.Received, count);
        if (written != 0)
        {
            _region.Add(ChannelCounter.RxWritten, written);
            _ring.ConsumerWait.Signal();
        }
        AddIfAny(ChannelCounter.RxDroppedOverflow, overflow);
        AddIfAny(ChannelCounter.RxDroppedTruncated, truncated);
        AddIfAny(ChannelCounter.RxXdpRejected, rejected);
        AddIfAny(ChannelCounter.RxXdpBadChecksum, badChecksum);
    }

    private bool FromRemote(in UdpFrame frame)
    {
        EndpointBlock source = default;
        frame.ReadSource(ref source);
        return source.Family == _remote.Family && source.SameAddress(_remote) && (_remote.Port == 0 || source.Port == _remote.Port);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool WriteRecord(in UdpFrame frame, long workerNow)
    {
        int size = frame.PayloadLength;
        int record = _ring.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(RxPacketHeader) + size);
        if (record < 0)
        {
            return false;
        }
        byte* body = _ring.Body(record);
        RxPacketHeader* rx = (RxPacketHeader*)body;
        rx->KernelRealtimeNs = 0;
        rx->HardwareRawNs = 0;
        rx->BestMonotonicNs = workerNow;
        rx->StampSource = (int)StampSource.Worker;
        rx->Flags = 0;
        rx->WorkerMonotonicNs = workerNow;
        rx->Sequence = _sequence++;
        frame.ReadSource(ref rx->Source);
        Unsafe.CopyBlockUnaligned(body + sizeof(RxPacketHeader), frame.Payload, (uint)size);
        _ring.Commit(record);
        return true;
    }

    /// <summary>What the kernel dropped before the ring: no fill buffer, or a full RX ring.</summary>
    private long KernelDrops()
    {
        Libc.xdp_statistics statistics = _socket.Statistics();
        return (long)(statistics.rx_dropped + statistics.rx_ring_full);
    }

    private void ReadKernelDrops(long now)
    {
        _nextDropReadNs = now + ReceiveWorker.DropReadIntervalNs;
        long drops = KernelDrops();
        AddIfAny(ChannelCounter.RxDroppedKernel, (int)(drops - _kernelDropsSeen));
        _kernelDropsSeen = drops;
    }

    private void AddIfAny(ChannelCounter counter, int value)
    {
        if (value != 0)
        {
            _region.Add(counter, value);
        }
    }

    public void Wake()
    {
        ulong one = 1;
        _ = write(_wakeFd, &one, sizeof(ulong));
    }

    public void OnClose()
    {
        ReadKernelDrops(Libc.MonotonicNow());
        RealtimeThread.Relax();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _ = close(_wakeFd);
        NativeMemory.Free(_pollSet);
    }
}
