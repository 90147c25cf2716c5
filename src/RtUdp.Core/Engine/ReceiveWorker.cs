using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Engine.Send;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Timestamping;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// Reads a channel's socket with poll + recvmmsg in batches and copies each datagram, with the
/// kernel's RX timestamp and its source, into the RX ring. A full ring drops the packet and counts
/// it: the worker never blocks on the daemon. Allocates nothing, takes no lock, logs nothing.
/// </summary>
/// <remarks>
/// Datagrams the kernel dropped before the worker read them (the socket's receive queue was full) are
/// counted in <see cref="ChannelCounter.RxDroppedKernel"/> from the SO_RXQ_OVFL count on the datagrams
/// read and, since that count only comes with a later datagram, from getsockopt(SO_MEMINFO) while the
/// socket is idle (at most every <see cref="DropReadIntervalNs"/>) and once as the worker stops.
/// </remarks>
public sealed unsafe class ReceiveWorker : IAgent, IDisposable
{
    private const int ControlBytes = ReceiveControl.BytesPerMessage;

    /// <summary>The least time between two idle reads of the socket's drop count: one syscall, only when there is nothing to read.</summary>
    public const long DropReadIntervalNs = 50_000_000;
    private const int PollTimeoutMs = (int)(AgentRunner.MaxWaitNs / 1_000_000);

    private readonly ChannelRegion _region;
    private readonly UdpSocket _socket;
    private readonly RecordRing _ring;
    private readonly WorkerHealth _health;
    private readonly ChannelConfigBlock _config;
    private readonly bool _memoryLocked;
    private readonly Cpus.UnpinnedPlacement _unpinned;
    private readonly int _batchSize;
    private readonly int _maxPayload;
    private readonly int _wakeFd;

    private readonly mmsghdr* _messages;
    private readonly iovec* _vectors;
    private readonly byte* _payloads;
    private readonly byte* _control;
    private readonly byte* _names;
    private readonly pollfd* _pollSet;
    private long _sequence;
    private readonly SeqLockedOffset _phcOffset;
    private readonly bool _stampsExpected;
    private readonly KernelDropCount _kernelDrops;
    private long _nextDropReadNs;

    // CLOCK_REALTIME − CLOCK_MONOTONIC read when the socket was last found empty: every packet read since
    // was stamped after it (see RealtimeStampConversion; invalid until the socket was first found empty).
    private ClockOffset _emptySince;

    // Sequenced flows and the reflector (null / false when the channel has neither).
    private readonly FlowReceiver? _flows;
    private readonly bool _reflect;
    private readonly MessageBatch? _reflections;
    private const int MaxReflectRetries = 100;

    public ReceiveWorker(ChannelRegion region, UdpSocket socket, bool memoryLocked, Cpus.UnpinnedPlacement? unpinned = null)
    {
        _unpinned = unpinned ?? Cpus.UnpinnedPlacement.Inherited;
        _region = region;
        _socket = socket;
        _config = region.Config;
        _ring = region.RxRing;
        _memoryLocked = memoryLocked;
        _health = new WorkerHealth(region, sendWorker: false);
        _batchSize = _config.BatchSize;
        _maxPayload = _config.MaxPayload;
        _phcOffset = region.PhcOffset;
        _stampsExpected = (TimestampMode)region.Mode.Timestamps != TimestampMode.Off;
        _wakeFd = Errno.Check(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
        // The socket outlives a stop and start: go on from what earlier workers counted.
        _kernelDrops = new KernelDropCount(region.Read(ChannelCounter.RxDroppedKernel));

        _messages = (mmsghdr*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(mmsghdr));
        _vectors = (iovec*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(iovec));
        _payloads = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)_maxPayload);
        _control = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, ControlBytes);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, SocketAddress.MaxLength);
        _pollSet = (pollfd*)NativeMemory.AllocZeroed(2, (nuint)sizeof(pollfd));
        for (int i = 0; i < _batchSize; i++)
        {
            _vectors[i].iov_base = _payloads + ((long)i * _maxPayload);
            _vectors[i].iov_len = (size_t)_maxPayload;
            msghdr* header = (msghdr*)&_messages[i];
            header->msg_iov = &_vectors[i];
            header->msg_iovlen = 1;
            header->msg_name = _names + (i * SocketAddress.MaxLength);
        }
        ChannelFlags flags = (ChannelFlags)_config.Flags;
        _flows = flags.HasFlag(ChannelFlags.Sequenced) ? new FlowReceiver(region) : null;
        _reflect = flags.HasFlag(ChannelFlags.Reflect);
        if (_reflect)
        {
            _reflections = new MessageBatch(_batchSize);
        }
        _pollSet[0].fd = socket.Fd;
        _pollSet[0].events = POLLIN;
        _pollSet[1].fd = _wakeFd;
        _pollSet[1].events = POLLIN;
    }

    public string RoleName => $"rt-rx-{_config.Id}";

    public string? SetupProblem { get; private set; }

    public void OnStart()
    {
        SetupProblem = _health.SetUpRealtime(_config.ReceiveCpu, _config.Priority, _memoryLocked, (ChannelFlags)_config.Flags, _unpinned);
        JitWarmUp.Prepare(typeof(ReceiveWorker));
        JitWarmUp.Prepare(typeof(RecordRing));
        JitWarmUp.Prepare(typeof(ChannelRegion));
        JitWarmUp.Prepare(typeof(RealtimeStampConversion));
        JitWarmUp.Prepare(typeof(FlowReceiver));
        JitWarmUp.Prepare(typeof(FlowHeader));
        JitWarmUp.Prepare(typeof(SequenceTracker));
        JitWarmUp.Prepare(typeof(FlowTable));
        JitWarmUp.Prepare(typeof(ReceiveControl));
        JitWarmUp.Prepare(typeof(KernelDropCount));
        JitWarmUp.Prepare(typeof(MessageBatch));
        if (_reflections is not null)
        {
            var observer = new ReflectObserver(_region);
            _reflections.WarmUp(_socket.Fd, ref observer);
        }
        _health.Set(WorkerHealthField.State, (long)WorkerState.Running);
    }

    public void DoWork()
    {
        long now = Libc.MonotonicNow();
        _health.Beat(now);
        ResetHeaders();
        int count = Libc.recvmmsg(_socket.Fd, _messages, (uint)_batchSize, MSG_DONTWAIT, null);
        if (count > 0)
        {
            _region.Add(ChannelCounter.RxCalls, 1);
            Deliver(count);
            return;
        }

        int error = Marshal.GetLastPInvokeError();
        if (error == Errno.EAGAIN)
        {
            if (now >= _nextDropReadNs)
            {
                // Drops after the last datagram read show in no SO_RXQ_OVFL count until the next one arrives.
                ReadKernelDrops(now);
            }
            // Off the packet path (the worker is about to sleep): the wall clock's offset before what arrives next.
            _emptySince = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
            _ = poll(_pollSet, 2, PollTimeoutMs);
            return;
        }
        if (error != Errno.EINTR)
        {
            // E.g. ECONNREFUSED from an ICMP port unreachable on a connected socket: counted, then
            // the error is cleared by the kernel and reading goes on.
            _region.ErrnoCounter(sendSide: false, error)++;
            // Never spin on a failing socket at SCHED_FIFO: wait a millisecond (or for a stop request).
            _ = poll(_pollSet + 1, 1, 1);
        }
    }

    private void ResetHeaders()
    {
        // The kernel shrinks these to what it wrote: give every slot its full room back.
        for (int i = 0; i < _batchSize; i++)
        {
            msghdr* header = (msghdr*)&_messages[i];
            header->msg_namelen = SocketAddress.MaxLength;
            header->msg_control = _control + (i * ControlBytes);
            header->msg_controllen = ControlBytes;
            header->msg_flags = 0;
        }
    }

    private void Deliver(int count)
    {
        long workerNow = Libc.MonotonicNow();
        // Software stamps are CLOCK_REALTIME: convert with an offset read now, or with the one read when the
        // socket was last empty if the wall clock was stepped between a stamp and now (the stamp then falls
        // outside the window it was taken in): a step moves no stamp.
        ClockOffset realtime = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
        int written = 0;
        int overflow = 0;
        int truncated = 0;
        int missingStamp = 0;
        int software = 0;
        int hardware = 0;
        int kernelDrops = 0;
        _flows?.BeginBatch(realtime.OffsetNs);
        for (int i = 0; i < count; i++)
        {
            msghdr* header = (msghdr*)&_messages[i];
            int length = (int)_messages[i].msg_len;
            ReceiveControl control = ReceiveControl.Parse(header);
            if (control.HasDropCount)
            {
                kernelDrops += _kernelDrops.Observe(control.DropCount);
            }
            if ((header->msg_flags & MSG_TRUNC) != 0)
            {
                truncated++;
                continue;
            }
            long softwareStamp = control.SoftwareNs;
            long hardwareStamp = control.HardwareNs;
            long best;
            int source;
            if (hardwareStamp != 0 && _phcOffset.TryRead(out ClockOffset phc))
            {
                best = phc.ToMonotonic(hardwareStamp);
                source = (int)StampSource.Hardware;
                hardware++;
            }
            else if (softwareStamp != 0)
            {
                best = RealtimeStampConversion.ToMonotonic(softwareStamp, realtime, _emptySince, _emptySince.SampledAtMonotonicNs, realtime.SampledAtMonotonicNs);
                source = (int)StampSource.Software;
                software++;
            }
            else
            {
                best = workerNow;
                source = (int)StampSource.Worker;
                missingStamp += _stampsExpected ? 1 : 0;
            }
            _flows?.OnPacket(new ReadOnlySpan<byte>(_vectors[i].iov_base, length), best);
            if (_reflect)
            {
                // A reflector returns the datagram instead of delivering it (Reflect below counts it).
                continue;
            }

            int record = _ring.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(RxPacketHeader) + length);
            if (record < 0)
            {
                overflow++;
                continue;
            }
            byte* body = _ring.Body(record);
            RxPacketHeader* rx = (RxPacketHeader*)body;
            rx->KernelRealtimeNs = softwareStamp;
            rx->HardwareRawNs = hardwareStamp;
            rx->BestMonotonicNs = best;
            rx->StampSource = source;
            rx->WorkerMonotonicNs = workerNow;
            rx->Sequence = _sequence++;
            SocketAddress.Read((byte*)header->msg_name, ref rx->Source);
            Unsafe.CopyBlockUnaligned(body + sizeof(RxPacketHeader), _vectors[i].iov_base, (uint)length);
            _ring.Commit(record);
            written++;
        }

        _flows?.EndBatch();
        if (_reflect)
        {
            Reflect(count);
        }
        _region.Add(ChannelCounter.Received, count);
        if (written != 0)
        {
            _region.Add(ChannelCounter.RxWritten, written);
            _ring.ConsumerWait.Signal();
        }
        AddIfAny(ChannelCounter.RxDroppedOverflow, overflow);
        AddIfAny(ChannelCounter.RxDroppedTruncated, truncated);
        AddIfAny(ChannelCounter.RxMissingTimestamp, missingStamp);
        AddIfAny(ChannelCounter.RxStampsSoftware, software);
        AddIfAny(ChannelCounter.RxStampsHardware, hardware);
        AddIfAny(ChannelCounter.RxDroppedKernel, kernelDrops);
    }

    /// <summary>The socket's drop count now (one getsockopt): drops no datagram read has reported yet.</summary>
    private void ReadKernelDrops(long now)
    {
        _nextDropReadNs = now + DropReadIntervalNs;
        if (KernelDropCount.TryRead(_socket.Fd, out uint drops, out int error))
        {
            AddIfAny(ChannelCounter.RxDroppedKernel, _kernelDrops.Observe(drops));
        }
        else
        {
            _region.ErrnoCounter(sendSide: false, error)++;
        }
    }

    /// <summary>Sends the batch's untruncated datagrams back to their sources, from the same socket, in one sendmmsg.</summary>
    private void Reflect(int count)
    {
        MessageBatch back = _reflections!;
        int reflecting = 0;
        for (int i = 0; i < count; i++)
        {
            msghdr* received = (msghdr*)&_messages[i];
            if ((received->msg_flags & MSG_TRUNC) != 0)
            {
                continue;
            }
            back.SetPayload(reflecting, (byte*)_vectors[i].iov_base, (int)_messages[i].msg_len);
            back.SetDestination(reflecting, received->msg_name, received->msg_namelen);
            reflecting++;
        }

        var observer = new ReflectObserver(_region);
        _ = back.Send(_socket.Fd, reflecting, MaxReflectRetries, ref observer);
        AddIfAny(ChannelCounter.Reflected, reflecting - observer.Errors);
        AddIfAny(ChannelCounter.ReflectErrors, observer.Errors);
    }

    /// <summary>Counts a datagram that could not be returned (by errno, on the receive side); retries are not counted.</summary>
    private struct ReflectObserver(ChannelRegion region) : ISendmmsgObserver
    {
        public int Errors;

        public readonly void BeforeCall(int from, int count, bool firstAttempt)
        {
        }

        public readonly void OnSent(int from, int sent)
        {
        }

        public readonly void OnCallFailed(int errorNumber)
        {
        }

        // A datagram going back is never worth a resend: any EMSGSIZE is taken as its own.
        public readonly bool IsTooBig(int slot) => true;

        public readonly void OnResent(int slot, int errorNumber)
        {
        }

        public readonly bool TakesOver(int slot, int errorNumber) => false;

        public void OnDropped(int slot, int errorNumber, bool afterResends)
        {
            region.ErrnoCounter(sendSide: false, errorNumber)++;
            Errors++;
        }
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
        // What the kernel dropped since the last read is counted before the channel reports Stopped.
        ReadKernelDrops(Libc.MonotonicNow());
        RealtimeThread.Relax();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _ = close(_wakeFd);
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_payloads);
        NativeMemory.Free(_control);
        NativeMemory.Free(_names);
        NativeMemory.Free(_pollSet);
        _reflections?.Dispose();
    }
}
