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
/// Reads a channel's socket with poll + recvmmsg in batches and copies each packet, with the
/// kernel's RX timestamp and its source, into the RX ring. A full ring drops the packet and counts
/// it: the worker never blocks on the daemon. Allocates nothing, takes no lock, logs nothing.
/// </summary>
/// <remarks>
/// With UDP_GRO (mode.Gro) a datagram read may be several packets the kernel coalesced: each recvmmsg slot
/// holds a whole one (64 KiB), and it is split at the UDP_GRO gso_size into packets that each get a record
/// of their own with the datagram's stamps and source, flagged <see cref="RxPacketFlags.Coalesced"/>.
/// With the busy-poll strategy, a read that finds nothing is followed by another (MSG_DONTWAIT, a short
/// spin between) instead of poll, until <see cref="ChannelConfigBlock.BusyPollNs"/> passed since the last
/// datagram, within the <see cref="BusyPollBudget"/> at SCHED_FIFO; each pass of the spin is one pass of the
/// loop, so heartbeats and a stop request are as prompt as ever.
/// 
/// Datagrams the kernel dropped before the worker read them (the socket's receive queue was full) are
/// counted in <see cref="ChannelCounter.RxDroppedKernel"/> from the SO_RXQ_OVFL count on the datagrams
/// read and, since that count only comes with a later datagram, from getsockopt(SO_MEMINFO) while the
/// socket is idle (at most every <see cref="DropReadIntervalNs"/>) and once as the worker stops.
/// </remarks>
public sealed unsafe class ReceiveWorker : IChannelWorker
{
    private const int ControlBytes = ReceiveControl.BytesPerMessage;

    /// <summary>A recvmmsg slot with GRO: the largest coalesced datagram (a UDP payload is below 64 KiB).</summary>
    public const int GroSlotBytes = 65536;

    /// <summary>Pause instructions between two reads of a busy-poll spin (a few hundred ns: the read itself costs more).</summary>
    private const int SpinIterations = 20;

    /// <summary>How often a busy-polling worker asks whether its datagrams come from a NAPI device (SO_INCOMING_NAPI_ID), until one does.</summary>
    private const long NapiCheckIntervalNs = 1_000_000_000;

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
    private readonly int _slotBytes;
    private readonly bool _gro;
    private readonly WakeEvent _wake = new();

    // Busy-poll (false / unused with the poll strategy).
    private readonly bool _busyPoll;
    private readonly long _busyPollNs;
    private readonly BusyPollBudget _budget;
    private long _lastDataNs = long.MinValue / 2;
    private bool _spinning;
    private bool _emptySampled;
    private bool _napiUnseen;
    private long _nextNapiCheckNs;

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
    private int _reflecting;
    private const int MaxReflectRetries = 100;

    /// <param name="kernelBusyPoll">SO_BUSY_POLL took on the socket: mode.ReceiveWait becomes KernelBusyPoll once a datagram shows a NAPI id.</param>
    public ReceiveWorker(ChannelRegion region, UdpSocket socket, bool memoryLocked, Cpus.UnpinnedPlacement? unpinned = null, bool kernelBusyPoll = false)
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
        _gro = region.Mode.Gro != 0;
        // With GRO a slot must hold a whole coalesced datagram (batch x 64 KiB, locked with the rest of the engine).
        _slotBytes = _gro ? GroSlotBytes : _maxPayload;
        _busyPoll = (ReceiveStrategy)_config.ReceiveStrategy == ReceiveStrategy.BusyPoll && _config.BusyPollNs > 0;
        _busyPollNs = _config.BusyPollNs;
        _budget = BusyPollBudget.ForPriority(_config.Priority);
        _napiUnseen = _busyPoll && kernelBusyPoll;
        _phcOffset = region.PhcOffset;
        _stampsExpected = (TimestampMode)region.Mode.Timestamps != TimestampMode.Off;
        // The socket outlives a stop and start: go on from what earlier workers counted.
        _kernelDrops = new KernelDropCount(region.Read(ChannelCounter.RxDroppedKernel));

        _messages = (mmsghdr*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(mmsghdr));
        _vectors = (iovec*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)sizeof(iovec));
        _payloads = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, (nuint)_slotBytes);
        _control = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, ControlBytes);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)_batchSize, SocketAddress.MaxLength);
        _pollSet = (pollfd*)NativeMemory.AllocZeroed(2, (nuint)sizeof(pollfd));
        for (int i = 0; i < _batchSize; i++)
        {
            _vectors[i].iov_base = _payloads + ((long)i * _slotBytes);
            _vectors[i].iov_len = (size_t)_slotBytes;
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
        _pollSet[1].fd = _wake.Fd;
        _pollSet[1].events = POLLIN;
        ResetHeaders(_batchSize);
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
        JitWarmUp.Prepare(typeof(BusyPollBudget));
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
        int count = Libc.recvmmsg(_socket.Fd, _messages, (uint)_batchSize, MSG_DONTWAIT, null);
        if (count > 0)
        {
            _region.Add(ChannelCounter.RxCalls, 1);
            if (_spinning)
            {
                // Found while spinning: the datagram was read without a poll wake-up.
                _region.Add(ChannelCounter.RxBusyPollHits, 1);
                _spinning = false;
            }
            _emptySampled = false;
            _lastDataNs = now;
            Deliver(count);
            ResetHeaders(count);
            if (_napiUnseen && now >= _nextNapiCheckNs)
            {
                CheckNapi(now);
            }
            return;
        }

        int error = Marshal.GetLastPInvokeError();
        if (error == Errno.EAGAIN)
        {
            if (_busyPoll && now - _lastDataNs < _busyPollNs && KeepSpinning(now))
            {
                if (!_emptySampled)
                {
                    // Once per spin, off the packet path: the wall clock's offset before what arrives next.
                    _emptySince = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
                    _emptySampled = true;
                }
                _spinning = true;
                Thread.SpinWait(SpinIterations);
                return;
            }
            _spinning = false;
            _budget.Sleeping();
            if (now >= _nextDropReadNs)
            {
                // Drops after the last datagram read show in no SO_RXQ_OVFL count until the next one arrives.
                ReadKernelDrops(now);
            }
            // Off the packet path (the worker is about to sleep): the wall clock's offset before what arrives next.
            _emptySince = ClockSampler.Sample(Libc.CLOCK_REALTIME, rounds: 2);
            _emptySampled = true;
            _ = poll(_pollSet, 2, PollTimeoutMs);
            return;
        }
        if (error != Errno.EINTR)
        {
            // E.g. ECONNREFUSED from an ICMP port unreachable on a connected socket: counted, then
            // the error is cleared by the kernel and reading goes on.
            _region.ErrnoCounter(sendSide: false, error)++;
            // Never spin on a failing socket at SCHED_FIFO: wait a millisecond (or for a stop request).
            _spinning = false;
            _budget.Sleeping();
            _ = poll(_pollSet + 1, 1, 1);
        }
    }

    private bool KeepSpinning(long now)
    {
        if (_budget.TrySpin(now, out bool exhaustedNow))
        {
            return true;
        }
        if (exhaustedNow)
        {
            _region.Add(ChannelCounter.RxBusyPollBudgetExhausted, 1);
        }
        return false;
    }

    /// <summary>
    /// Once the socket's datagrams show a NAPI id (they come from a device queue the kernel can busy-poll, not
    /// loopback), each read polls that queue: the mode says KernelBusyPoll from then on.
    /// </summary>
    private void CheckNapi(long now)
    {
        _nextNapiCheckNs = now + NapiCheckIntervalNs;
        uint napiId = 0;
        socklen_t length = sizeof(uint);
        if (getsockopt(_socket.Fd, SOL_SOCKET, Libc.SO_INCOMING_NAPI_ID, &napiId, &length) != 0)
        {
            _region.ErrnoCounter(sendSide: false, errno)++;
            _napiUnseen = false;
            return;
        }
        if (napiId != 0)
        {
            Volatile.Write(ref _region.Mode.ReceiveWait, (int)ReceiveWait.KernelBusyPoll);
            _napiUnseen = false;
        }
    }

    /// <summary>The kernel shrinks these to what it wrote in the slots it filled: give those their full room back.</summary>
    private void ResetHeaders(int count)
    {
        for (int i = 0; i < count; i++)
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
        var batch = new BatchCounts();
        _flows?.BeginBatch(realtime.OffsetNs);
        for (int i = 0; i < count; i++)
        {
            msghdr* header = (msghdr*)&_messages[i];
            int length = (int)_messages[i].msg_len;
            ReceiveControl control = ReceiveControl.Parse(header);
            if (control.HasDropCount)
            {
                batch.KernelDrops += _kernelDrops.Observe(control.DropCount);
            }
            if ((header->msg_flags & MSG_TRUNC) != 0)
            {
                // Larger than the slot: only without GRO (a GRO slot holds any datagram), so one packet.
                batch.Received++;
                batch.Truncated++;
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
            }
            else if (softwareStamp != 0)
            {
                best = RealtimeStampConversion.ToMonotonic(softwareStamp, realtime, _emptySince, _emptySince.SampledAtMonotonicNs, realtime.SampledAtMonotonicNs);
                source = (int)StampSource.Software;
            }
            else
            {
                best = workerNow;
                source = (int)StampSource.Worker;
            }

            // A coalesced datagram is packets of gso_size bytes, the last possibly shorter: each is a packet of its
            // own from here on, with the datagram's stamps and source (the kernel stamped the datagram once).
            byte* data = (byte*)_vectors[i].iov_base;
            int segment = length;
            int flags = 0;
            if (control.SegmentSize > 0 && control.SegmentSize < length)
            {
                segment = control.SegmentSize;
                flags = RxPacketFlags.Coalesced;
                batch.Coalesced++;
                batch.CoalescedPackets += (length + segment - 1) / segment;
            }
            int offset = 0;
            do
            {
                int size = Math.Min(segment, length - offset);
                byte* packet = data + offset;
                offset += segment;
                batch.Received++;
                if (size > _maxPayload)
                {
                    // Only a GRO slot takes more than max_payload: the packet is dropped as one too large, like MSG_TRUNC.
                    batch.Truncated++;
                    continue;
                }
                batch.CountStamp(source, _stampsExpected);
                _flows?.OnPacket(new ReadOnlySpan<byte>(packet, size), best);
                if (_reflect)
                {
                    // A reflector returns the packet instead of delivering it (Reflect counts it).
                    QueueReflection(packet, size, header);
                    continue;
                }
                if (WriteRecord(packet, size, header, softwareStamp, hardwareStamp, best, source, flags, workerNow))
                {
                    batch.Written++;
                }
                else
                {
                    batch.Overflow++;
                }
            }
            while (offset < length);
        }

        _flows?.EndBatch();
        if (_reflect)
        {
            FlushReflections();
        }
        _region.Add(ChannelCounter.Received, batch.Received);
        if (batch.Written != 0)
        {
            _region.Add(ChannelCounter.RxWritten, batch.Written);
            _ring.ConsumerWait.Signal();
        }
        _region.AddIfAny(ChannelCounter.RxDroppedOverflow, batch.Overflow);
        _region.AddIfAny(ChannelCounter.RxDroppedTruncated, batch.Truncated);
        _region.AddIfAny(ChannelCounter.RxMissingTimestamp, batch.MissingStamp);
        _region.AddIfAny(ChannelCounter.RxStampsSoftware, batch.Software);
        _region.AddIfAny(ChannelCounter.RxStampsHardware, batch.Hardware);
        _region.AddIfAny(ChannelCounter.RxDroppedKernel, batch.KernelDrops);
        _region.AddIfAny(ChannelCounter.RxCoalesced, batch.Coalesced);
        _region.AddIfAny(ChannelCounter.RxCoalescedPackets, batch.CoalescedPackets);
    }

    /// <summary>One packet into the RX ring; false when the ring is full.</summary>
    private bool WriteRecord(byte* packet, int size, msghdr* header, long softwareStamp, long hardwareStamp, long best, int source, int flags, long workerNow)
    {
        int record = _ring.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(RxPacketHeader) + size);
        if (record < 0)
        {
            return false;
        }
        byte* body = _ring.Body(record);
        RxPacketHeader* rx = (RxPacketHeader*)body;
        rx->KernelRealtimeNs = softwareStamp;
        rx->HardwareRawNs = hardwareStamp;
        rx->BestMonotonicNs = best;
        rx->StampSource = source;
        rx->Flags = flags;
        rx->WorkerMonotonicNs = workerNow;
        rx->Sequence = _sequence++;
        SocketAddress.Read((byte*)header->msg_name, ref rx->Source);
        Unsafe.CopyBlockUnaligned(body + sizeof(RxPacketHeader), packet, (uint)size);
        _ring.Commit(record);
        return true;
    }

    /// <summary>What one batch counted, added to the channel's counters once at its end.</summary>
    private struct BatchCounts
    {
        public int Received;
        public int Written;
        public int Overflow;
        public int Truncated;
        public int MissingStamp;
        public int Software;
        public int Hardware;
        public int KernelDrops;
        public int Coalesced;
        public int CoalescedPackets;

        public void CountStamp(int source, bool stampsExpected)
        {
            switch ((StampSource)source)
            {
                case StampSource.Hardware:
                    Hardware++;
                    break;
                case StampSource.Software:
                    Software++;
                    break;
                default:
                    MissingStamp += stampsExpected ? 1 : 0;
                    break;
            }
        }
    }

    /// <summary>The socket's drop count now (one getsockopt): drops no datagram read has reported yet.</summary>
    private void ReadKernelDrops(long now)
    {
        _nextDropReadNs = now + DropReadIntervalNs;
        if (KernelDropCount.TryRead(_socket.Fd, out uint drops, out int error))
        {
            _region.AddIfAny(ChannelCounter.RxDroppedKernel, _kernelDrops.Observe(drops));
        }
        else
        {
            _region.ErrnoCounter(sendSide: false, error)++;
        }
    }

    /// <summary>
    /// Puts a packet in the batch going back to its source from the same socket; a full batch (GRO splits a
    /// read into more packets than slots) is sent at once.
    /// </summary>
    private void QueueReflection(byte* packet, int size, msghdr* received)
    {
        MessageBatch back = _reflections!;
        back.SetPayload(_reflecting, packet, size);
        back.SetDestination(_reflecting, received->msg_name, received->msg_namelen);
        if (++_reflecting == back.Capacity)
        {
            FlushReflections();
        }
    }

    /// <summary>Sends the packets queued to go back in one sendmmsg and counts them.</summary>
    private void FlushReflections()
    {
        if (_reflecting == 0)
        {
            return;
        }
        var observer = new ReflectObserver(_region);
        _ = _reflections!.Send(_socket.Fd, _reflecting, MaxReflectRetries, ref observer);
        _region.AddIfAny(ChannelCounter.Reflected, _reflecting - observer.Errors);
        _region.AddIfAny(ChannelCounter.ReflectErrors, observer.Errors);
        _reflecting = 0;
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

    public void Wake() => _wake.Signal();

    public void OnClose()
    {
        // What the kernel dropped since the last read is counted before the channel reports Stopped.
        ReadKernelDrops(Libc.MonotonicNow());
        RealtimeThread.Relax();
        _health.Set(WorkerHealthField.State, (long)WorkerState.Stopped);
    }

    public void Dispose()
    {
        _wake.Dispose();
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_payloads);
        NativeMemory.Free(_control);
        NativeMemory.Free(_names);
        NativeMemory.Free(_pollSet);
        _reflections?.Dispose();
    }
}
