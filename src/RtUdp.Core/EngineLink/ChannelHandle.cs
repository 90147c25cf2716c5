using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.EngineLink;

/// <summary>
/// The daemon's view of one channel: enqueue packets into its TX ring (lock-free, from any number
/// of threads), drain received packets from its RX ring, read its counters and histograms.
/// </summary>
public sealed unsafe class ChannelHandle : IDisposable
{
    private readonly ChannelRegion _region;
    private readonly Lock _drainLock = new();
    private readonly Lock _reportLock = new();
    private readonly long _busyPollNs;
    private long _lastPacketNs = long.MinValue / 2;
    private volatile bool _drainsSuspended;

    private const int SpinIterations = 20;

    [ThreadStatic]
    private static Engine.BusyPollBudget? t_readerBudget;

    internal ChannelHandle(ChannelRegion region, ChannelConfig config)
    {
        _region = region;
        Config = config;
        BoundLocal = region.BoundLocal.ToIPEndPoint() ?? config.Local;
        _busyPollNs = config.ReceiveStrategy == ReceiveStrategy.BusyPoll ? config.BusyPollNs : 0;
    }

    public ChannelConfig Config { get; }

    /// <summary>
    /// A second producer's handle on a running channel's file (channel-N.shm in the engine directory), as a
    /// benchmark or test feeds a channel the daemon made: the TX ring takes many producers.
    /// </summary>
    public static ChannelHandle Open(string channelFile)
    {
        ChannelRegion region = ChannelRegion.Open(channelFile);
        return new ChannelHandle(region, region.Config.ToConfig());
    }

    public uint Id => Config.Id;

    /// <summary>The local endpoint the engine bound (with the kernel's port when 0 was asked).</summary>
    public IPEndPoint BoundLocal { get; }

    public ChannelState State => _region.State;

    public ChannelRegion Region => _region;

    /// <summary>
    /// Offers one packet to leave at <paramref name="dueMonotonicNs"/> (CLOCK_MONOTONIC). Never blocks.
    /// </summary>
    /// <param name="signal">Wake the send worker now; pass false inside a batch and call <see cref="Flush"/> after it.</param>
    /// <param name="clientTag">Who sent it, echoed in its report (0: nobody in particular).</param>
    /// <param name="immediate">Due "now" rather than at a chosen time (<see cref="TxPacketFlags.Immediate"/>).</param>
    public EnqueueResult TryEnqueue(ReadOnlySpan<byte> payload, long dueMonotonicNs, long packetId, bool signal = true, int clientTag = 0, bool immediate = false)
    {
        if (payload.Length > Config.MaxPayload)
        {
            return EnqueueResult.TooLarge;
        }
        ChannelState state = _region.State;
        if (!Config.Sends || state is not (ChannelState.Created or ChannelState.Running))
        {
            return EnqueueResult.NotAccepting;
        }
        RecordRing ring = _region.TxRing;
        int index = ring.TryClaim(PacketRecordType.Packet, sizeof(TxPacketHeader) + payload.Length);
        if (index < 0)
        {
            _region.AddAtomic(ChannelCounter.RejectedFull, 1);
            return EnqueueResult.Full;
        }
        // Counted before the commit, so the engine can never have scanned more than was enqueued.
        _region.AddAtomic(ChannelCounter.Enqueued, 1);
        byte* body = ring.Body(index);
        *(TxPacketHeader*)body = new TxPacketHeader { DueNs = dueMonotonicNs, PacketId = packetId, ClientTag = clientTag, Flags = immediate ? TxPacketFlags.Immediate : 0 };
        payload.CopyTo(new Span<byte>(body + sizeof(TxPacketHeader), payload.Length));
        ring.Commit(index);
        if (signal)
        {
            ring.ConsumerWait.Signal();
        }
        return EnqueueResult.Ok;
    }

    /// <summary>Wakes the send worker after a batch of <see cref="TryEnqueue"/> calls with signal: false.</summary>
    public void Flush() => _region.TxRing.ConsumerWait.Signal();

    /// <summary>
    /// The RX ring gets another consumer (the engine's intake agent, for a same-host client that receives on the
    /// channel, docs/shm-clients.md): from now on <see cref="Receive"/> takes nothing. Returns once a drain in
    /// progress has ended (it holds the drain lock), so the ring has one consumer at every moment.
    /// </summary>
    public void SuspendDrains()
    {
        _drainsSuspended = true;
        lock (_drainLock)
        {
            // Nothing: taking the lock waits for the drain that held it; the next one sees the flag.
        }
        _region.RxRing.ConsumerWait.Signal(); // a reader parked in Receive wakes and returns
    }

    /// <summary>The other consumer is gone (its client detached): <see cref="Receive"/> drains again.</summary>
    public void ResumeDrains() => _drainsSuspended = false;

    /// <summary>A same-host client receives on the channel: the daemon does not drain its RX ring.</summary>
    public bool DrainsSuspended => _drainsSuspended;

    /// <summary>
    /// Takes the next received packet, waiting up to <paramref name="timeoutNs"/> (0: don't wait),
    /// like the original receive_data(timeout_ns).
    /// </summary>
    /// <param name="payload">Must hold max_payload bytes.</param>
    /// <returns>null on timeout.</returns>
    public ReceivedPacket? Receive(Span<byte> payload, long timeoutNs)
    {
        if (payload.Length < Config.MaxPayload)
        {
            throw new ArgumentException($"The buffer must hold max_payload ({Config.MaxPayload}) bytes.", nameof(payload));
        }
        long start = Libc.MonotonicNow();
        long deadline = start + timeoutNs;
        fixed (byte* destination = payload)
        {
            // Busy-poll: spin while the last packet is less than busy_poll_ns old (an idle channel's reader sleeps at once).
            long spinUntil = Math.Min(deadline, Volatile.Read(ref _lastPacketNs) + _busyPollNs);
            if (_busyPollNs > 0 && start < spinUntil && SpinForPacket(destination, spinUntil, out ReceivedPacket spun))
            {
                Volatile.Write(ref _lastPacketNs, Libc.MonotonicNow());
                return spun;
            }
            while (true)
            {
                var wait = _region.RxRing.ConsumerWait;
                int ticket = wait.PrepareWait();
                if (TryDrainOne(destination, out ReceivedPacket packet))
                {
                    wait.CancelWait();
                    if (_busyPollNs > 0)
                    {
                        Volatile.Write(ref _lastPacketNs, Libc.MonotonicNow());
                    }
                    return packet;
                }
                long now = Libc.MonotonicNow();
                if (now >= deadline || _region.State is ChannelState.Deleted || _drainsSuspended)
                {
                    wait.CancelWait();
                    return null;
                }
                wait.Wait(ticket, Math.Min(deadline, now + 100_000_000));
            }
        }
    }

    /// <summary>
    /// Busy-poll (the channel's receive strategy): watch the RX ring without sleeping until <paramref name="until"/>
    /// (busy_poll_ns after the last packet taken),
    /// so a packet the receive worker writes meanwhile is taken without a futex wake-up (and the worker makes no
    /// FUTEX_WAKE call). A SCHED_FIFO caller spins within the <see cref="Engine.BusyPollBudget"/> of its thread.
    /// </summary>
    private bool SpinForPacket(byte* destination, long until, out ReceivedPacket packet)
    {
        Engine.BusyPollBudget budget = ReaderBudget();
        while (true)
        {
            if (_region.RxRing.OccupiedBytes != 0 && TryDrainOne(destination, out packet))
            {
                return true;
            }
            long now = Libc.MonotonicNow();
            if (now >= until || !budget.TrySpin(now, out _) || _region.State is ChannelState.Deleted)
            {
                budget.Sleeping();
                packet = default;
                return false;
            }
            Thread.SpinWait(SpinIterations);
        }
    }

    /// <summary>The calling thread's busy-poll budget: one at SCHED_FIFO or SCHED_RR (as the thread was at its first busy-poll read), none otherwise.</summary>
    private static Engine.BusyPollBudget ReaderBudget()
    {
        if (t_readerBudget is null)
        {
            int policy = Libc.sched_getscheduler(0);
            t_readerBudget = Engine.BusyPollBudget.ForPriority(policy == Tmds.Linux.LibC.SCHED_FIFO || policy == Tmds.Linux.LibC.SCHED_RR ? 1 : 0);
        }
        return t_readerBudget;
    }

    private bool TryDrainOne(byte* destination, out ReceivedPacket packet)
    {
        lock (_drainLock)
        {
            if (_drainsSuspended)
            {
                packet = default;
                return false;
            }
            var reader = new RxReader(destination);
            if (_region.RxRing.Read(ref reader, 1) == 0)
            {
                packet = default;
                return false;
            }
            // The drainer is this channel's only writer of Drained and of the delivery histogram (under the lock).
            _region.Add(ChannelCounter.Drained, 1);
            if (reader.Header.BestMonotonicNs != 0)
            {
                _region.DeliveryHistogram.Record(Libc.MonotonicNow() - reader.Header.BestMonotonicNs);
            }
            packet = new ReceivedPacket(
                reader.Length,
                reader.Header.Source.ToIPEndPoint(),
                reader.Header.KernelRealtimeNs,
                reader.Header.HardwareRawNs,
                reader.Header.BestMonotonicNs,
                reader.Header.StampSource,
                reader.Header.WorkerMonotonicNs,
                reader.Header.Sequence,
                reader.Header.Flags);
            return true;
        }
    }

    private struct RxReader(byte* destination) : IRecordHandler
    {
        public RxPacketHeader Header;
        public int Length;

        public bool OnRecord(int type, byte* body, int length)
        {
            Header = *(RxPacketHeader*)body;
            Length = length - sizeof(RxPacketHeader);
            Buffer.MemoryCopy(body + sizeof(RxPacketHeader), destination, Length, Length);
            return false;
        }
    }

    /// <summary>
    /// Asks the send worker for a <see cref="TxReport"/> per packet from now on (or, with false, to stop
    /// writing them). Reports cost the worker a ring write per packet, and a ring nobody drains fills and
    /// counts every later report as lost, so they are off until asked for. Every packet enqueued after
    /// this call gets its report (the worker reads the request after taking new packets from the ring);
    /// packets finishing meanwhile may get one too. The request stays in the channel file across stop and start.
    /// </summary>
    public void RequestReports(bool requested = true) => _region.ReportsRequested = requested;

    /// <summary>Whether reports are requested (see <see cref="RequestReports"/>).</summary>
    public bool ReportsRequested => _region.ReportsRequested;

    /// <summary>
    /// Takes up to <c>reports.Length</c> per-packet outcomes (actual send times) from the TX report ring.
    /// The ring holds only what was written while reports were requested (<see cref="RequestReports"/>).
    /// </summary>
    public int DrainReports(Span<TxReport> reports)
    {
        lock (_reportLock)
        {
            fixed (TxReport* destination = reports)
            {
                // Packet reports only: network error records read here are let go.
                int taken = 0;
                while (taken < reports.Length)
                {
                    var reader = new ReportReader(destination + taken);
                    int read = _region.TxReports.Read(ref reader, reports.Length - taken);
                    taken += reader.Count;
                    if (read == 0 || reader.Count == read)
                    {
                        break;
                    }
                }
                return taken;
            }
        }
    }

    /// <summary>Takes up to <paramref name="records"/>.Length records of the TX report ring, packet reports and network errors, in order.</summary>
    public int DrainRecords(Span<TxReportRecord> records)
    {
        lock (_reportLock)
        {
            fixed (TxReportRecord* destination = records)
            {
                var reader = new RecordReader(destination);
                return _region.TxReports.Read(ref reader, records.Length);
            }
        }
    }

    private struct ReportReader(TxReport* destination) : IRecordHandler
    {
        public int Count;

        public bool OnRecord(int type, byte* body, int length)
        {
            if (type == PacketRecordType.Packet)
            {
                destination[Count++] = *(TxReport*)body;
            }
            return true;
        }
    }

    private struct RecordReader(TxReportRecord* destination) : IRecordHandler
    {
        private int _count;

        public bool OnRecord(int type, byte* body, int length)
        {
            ref TxReportRecord record = ref destination[_count++];
            record.Type = type;
            if (type == PacketRecordType.NetworkError)
            {
                record.NetworkError = *(TxNetworkErrorReport*)body;
            }
            else
            {
                record.Packet = *(TxReport*)body;
            }
            return true;
        }
    }

    public ChannelStats ReadStats()
    {
        var counters = new Dictionary<ChannelCounter, long>();
        foreach (ChannelCounter counter in Enum.GetValues<ChannelCounter>())
        {
            counters[counter] = _region.Read(counter);
        }
        return new ChannelStats
        {
            State = _region.State,
            Counters = counters,
            SendErrnos = Errnos(sendSide: true),
            ReceiveErrnos = Errnos(sendSide: false),
            Sender = Worker(send: true),
            Receiver = Worker(send: false),
            Histograms = Enum.GetValues<ChannelHistogram>().ToDictionary(h => h, h => _region.Histogram(h).Snapshot()),
            Mode = _region.Mode,
            Flows = Flows.FlowSnapshot.Read(_region.Flows),
        };
    }

    private Dictionary<int, long> Errnos(bool sendSide)
    {
        var result = new Dictionary<int, long>();
        for (int errno = 0; errno < ChannelLayout.ErrnoSlots; errno++)
        {
            long count = Volatile.Read(ref _region.ErrnoCounter(sendSide, errno));
            if (count != 0)
            {
                result[errno] = count;
            }
        }
        return result;
    }

    private WorkerStatus Worker(bool send)
    {
        long Get(WorkerHealthField field) => Volatile.Read(ref _region.Health(send, field));
        return new WorkerStatus(
            (WorkerState)Get(WorkerHealthField.State),
            (RealtimeMode)Get(WorkerHealthField.RealtimeMode),
            Get(WorkerHealthField.Heartbeat),
            Get(WorkerHealthField.HeartbeatTimeNs),
            (int)Get(WorkerHealthField.ThreadId),
            (int)Get(WorkerHealthField.Cpu),
            (int)Get(WorkerHealthField.SetupErrno));
    }

    public void Dispose() => _region.Dispose();
}
