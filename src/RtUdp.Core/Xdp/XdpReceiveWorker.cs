using System.Net;
using SocketAddress = RtUdp.Core.Engine.SocketAddress;
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
///
/// A datagram for the channel that the NIC put on another queue (RSS: the steering program only sees the channel's
/// queue) goes up the kernel's stack to the channel's UDP socket, which holds the port. The worker reads that socket
/// too, so such a datagram is delivered, not lost, and counted in <see cref="ChannelCounter.RxXdpViaKernel"/>: a
/// non-zero count says the NIC's flow steering (ethtool -N ... action QUEUE) does not send the flow to the queue.
/// </remarks>
public sealed unsafe class XdpReceiveWorker : IChannelWorker
{
    private const int PollTimeoutMs = (int)(AgentRunner.MaxWaitNs / 1_000_000);

    private readonly ChannelRegion _region;
    private readonly XskSocket _socket;
    private readonly int _udpFd;
    private readonly byte* _kernelPayload;
    private readonly byte* _kernelSource;
    private readonly RecordRing _ring;
    private readonly WorkerHealth _health;
    private readonly ChannelConfigBlock _config;
    private readonly bool _memoryLocked;
    private readonly Engine.Cpus.UnpinnedPlacement _unpinned;
    private readonly int _batchSize;
    private readonly int _maxPayload;
    private readonly ushort _port;
    private readonly WakeEvent _wake = new();
    private readonly pollfd* _pollSet;
    private readonly FlowReceiver? _flows;

    // The one source a channel with a remote accepts (the socket path's connect()): its address, and port unless 0.
    private readonly EndpointBlock _remote;
    private readonly bool _filterSource;
    private long _sequence;
    private long _kernelDropsSeen;
    private long _nextDropReadNs;

    public XdpReceiveWorker(ChannelRegion region, XdpChannelPort port, UdpSocket udp, bool memoryLocked, Engine.Cpus.UnpinnedPlacement? unpinned = null)
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
        _port = (ushort)udp.BoundLocal.Port;
        _udpFd = udp.Fd;
        _kernelPayload = (byte*)NativeMemory.AllocZeroed((nuint)_maxPayload + 1);
        _kernelSource = (byte*)NativeMemory.AllocZeroed(SocketAddress.MaxLength);
        _remote = _config.Remote;
        _filterSource = _config.Remote.ToIPEndPoint() is { } remote && !remote.Address.Equals(IPAddress.Any) && !remote.Address.Equals(IPAddress.IPv6Any);
        _pollSet = (pollfd*)NativeMemory.AllocZeroed(3, (nuint)sizeof(pollfd));
        _pollSet[0].fd = _socket.Fd;
        _pollSet[0].events = POLLIN;
        _pollSet[1].fd = _udpFd;
        _pollSet[1].events = POLLIN;
        _pollSet[2].fd = _wake.Fd;
        _pollSet[2].events = POLLIN;
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
        if (ReadKernelSocket(now))
        {
            return;
        }
        if (now >= _nextDropReadNs)
        {
            ReadKernelDrops(now);
        }
        _ = poll(_pollSet, 3, PollTimeoutMs);
    }

    /// <summary>Datagrams that came up the kernel's stack (another queue): up to a batch, each delivered as it is read.</summary>
    private bool ReadKernelSocket(long now)
    {
        int read = 0, written = 0, overflow = 0, truncated = 0;
        for (; read < _batchSize; read++)
        {
            socklen_t nameLength = SocketAddress.MaxLength;
            long length = recvfrom(_udpFd, _kernelPayload, (size_t)(_maxPayload + 1), MSG_DONTWAIT | MSG_TRUNC, (sockaddr*)_kernelSource, &nameLength);
            if (length < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error is not (Errno.EAGAIN or Errno.EINTR))
                {
                    _region.ErrnoCounter(sendSide: false, error)++;
                }
                break;
            }
            if (length > _maxPayload)
            {
                truncated++;
                continue;
            }
            _flows?.OnPacket(new ReadOnlySpan<byte>(_kernelPayload, (int)length), now);
            if (WriteRecord(_kernelPayload, (int)length, now, out RxPacketHeader* rx, out int record))
            {
                SocketAddress.Read(_kernelSource, ref rx->Source);
                _ring.Commit(record);
                written++;
            }
            else
            {
                overflow++;
            }
        }
        if (read == 0)
        {
            return false;
        }
        _region.Add(ChannelCounter.Received, read);
        _region.Add(ChannelCounter.RxXdpViaKernel, read);
        if (written != 0)
        {
            _region.Add(ChannelCounter.RxWritten, written);
            _ring.ConsumerWait.Signal();
        }
        _region.AddIfAny(ChannelCounter.RxDroppedOverflow, overflow);
        _region.AddIfAny(ChannelCounter.RxDroppedTruncated, truncated);
        return true;
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
        _region.AddIfAny(ChannelCounter.RxDroppedOverflow, overflow);
        _region.AddIfAny(ChannelCounter.RxDroppedTruncated, truncated);
        _region.AddIfAny(ChannelCounter.RxXdpRejected, rejected);
        _region.AddIfAny(ChannelCounter.RxXdpBadChecksum, badChecksum);
    }

    private bool FromRemote(in UdpFrame frame)
    {
        EndpointBlock source = default;
        frame.ReadSource(ref source);
        return source.Family == _remote.Family && source.SameAddress(_remote) && (_remote.Port == 0 || source.Port == _remote.Port);
    }

    private bool WriteRecord(in UdpFrame frame, long workerNow)
    {
        if (!WriteRecord(frame.Payload, frame.PayloadLength, workerNow, out RxPacketHeader* rx, out int record))
        {
            return false;
        }
        frame.ReadSource(ref rx->Source);
        _ring.Commit(record);
        return true;
    }

    /// <summary>Claims a record and writes everything but its source (its caller commits it once that is in); false when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool WriteRecord(byte* payload, int size, long workerNow, out RxPacketHeader* rx, out int record)
    {
        record = _ring.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(RxPacketHeader) + size);
        if (record < 0)
        {
            rx = null;
            return false;
        }
        byte* body = _ring.Body(record);
        rx = (RxPacketHeader*)body;
        rx->KernelRealtimeNs = 0;
        rx->HardwareRawNs = 0;
        rx->BestMonotonicNs = workerNow;
        rx->StampSource = (int)StampSource.Worker;
        rx->Flags = 0;
        rx->WorkerMonotonicNs = workerNow;
        rx->Sequence = _sequence++;
        Unsafe.CopyBlockUnaligned(body + sizeof(RxPacketHeader), payload, (uint)size);
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
        _region.AddIfAny(ChannelCounter.RxDroppedKernel, (int)(drops - _kernelDropsSeen));
        _kernelDropsSeen = drops;
    }

    public void Wake() => _wake.Signal();

    public void OnClose()
    {
        ReadKernelDrops(Libc.MonotonicNow());
        RealtimeThread.Relax();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _wake.Dispose();
        NativeMemory.Free(_pollSet);
        NativeMemory.Free(_kernelPayload);
        NativeMemory.Free(_kernelSource);
    }
}
