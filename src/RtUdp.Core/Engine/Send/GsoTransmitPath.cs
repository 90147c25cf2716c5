using System.Runtime.InteropServices;
using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Sends a batch as UDP GSO trains (docs/gso.md): the <see cref="GsoTrainPlanner"/> cuts the packets due
/// together into runs of one size, each run one datagram with a UDP_SEGMENT control message, and the batch goes out
/// in one sendmmsg (more when the kernel takes part of it). A train's payloads are copied, one after the other, into
/// a staging buffer allocated at start-up, and the kernel gets it as one iovec: it copies one buffer much faster
/// than 64 small iovecs (the C GSO loop runs at 0.63-0.69x with one iovec per packet). The copy is made just before
/// the send call, after the flow headers' send time is written. A packet that fits no train goes alone, from the TX
/// ring (zero copy), as on the <see cref="SocketTransmitPath"/>. Outcomes, flow
/// headers and reports stay per packet; a train's packets share its send call and its kernel stamps. A train the
/// kernel refuses is sent again one packet per datagram; a refusal by EIO or EINVAL (not the MTU's) ends trains
/// for the channel: its mode says FellBack, with the errno.
/// </summary>
public sealed unsafe class GsoTransmitPath : ITransmitPath
{
    private const int MaxSendRetries = 1000;

    private readonly ChannelRegion _region;
    private readonly UdpSocket _socket;
    private readonly SendCompletion _completion;
    private readonly MessageBatch _messages;
    private readonly ScheduledPacket* _packets;
    private readonly byte** _payloads;
    private readonly int* _lengths;
    private readonly long* _launchTimes;
    private readonly PlannedDatagram* _datagrams;

    // The trains' payloads, gathered: a batch's trains one after the other, at most the batch's bytes and 64 KiB a train.
    private readonly byte* _staging;
    private readonly long _stagingBytes;

    // Per message: where its train lies in _staging, or -1 (a single packet, sent from the ring).
    private readonly int* _stagedAt;

    // Messages before this one are gathered (without flow headers a retry need not copy them again).
    private int _gatheredUntil;
    private readonly LaunchTimes _launch;
    private readonly FlowBatchStamper? _flows;
    private readonly bool _inet6;
    private readonly int _maxSegments;

    // GsoMode.Auto with launch time: only packets of one launch time share a train. On: a train leaves at its first packet's.
    private readonly bool _sameLaunchTime;

    private TrainLimits _limits;
    private bool _trains = true;
    private int _count;
    private long _sentAt;

    // The batch was planned again after a refused train: later calls stamp their own flow send time.
    private bool _replanned;

    // The path MTU read for the last EMSGSIZE (by IsTooBig), given to the drop that may follow.
    private int _pathMtu;

    // The errno of the train the observer took over at.
    private int _refusedErrno;
    private long _trainsSent;
    private long _trainPackets;

    public GsoTransmitPath(ChannelRegion region, UdpSocket socket, SendCompletion completion)
    {
        _region = region;
        _socket = socket;
        _completion = completion;
        BatchCapacity = region.Config.BatchSize;
        _maxSegments = region.Mode.GsoMaxSegments;
        _launch = new LaunchTimes(region);
        _sameLaunchTime = (GsoMode)region.Config.Gso != GsoMode.On;
        _messages = new MessageBatch(BatchCapacity, UdpSegmentControl.Space + (_launch.Enabled ? TxTimeControl.Space : 0));
        _packets = (ScheduledPacket*)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(ScheduledPacket));
        _payloads = (byte**)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(byte*));
        _lengths = (int*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(int));
        _launchTimes = (long*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(long));
        _datagrams = (PlannedDatagram*)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(PlannedDatagram));
        _stagingBytes = StagingBytes(BatchCapacity, region.Config.MaxPayload);
        _staging = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, _stagingBytes));
        _stagedAt = (int*)NativeMemory.Alloc((nuint)BatchCapacity, sizeof(int));
        _inet6 = socket.IsInet6;
        _flows = FlowBatchStamper.For(region, BatchCapacity);
    }

    public int BatchCapacity { get; }

    /// <summary>
    /// Room for every train of a batch: its packets' bytes (at most max_payload each), and no more than 64 KiB for
    /// each of the most trains a batch can hold (two packets each).
    /// </summary>
    public static long StagingBytes(int batchCapacity, int maxPayload) =>
        Math.Min((long)batchCapacity * maxPayload, (long)(batchCapacity / 2) * TrainLimits.MaxPayloadInet6);

    public void OnStart()
    {
        // Our stamp keys count from 0: make the kernel's OPT_ID count from 0 too.
        SocketTimestamping.RestartIds(_socket.Fd, _socket.TimestampingFlags);
        if (_launch.Enabled)
        {
            _launch.Enable(_socket.Fd, ((ChannelFlags)_region.Config.Flags).HasFlag(ChannelFlags.LaunchDeadlineMode));
        }
        ReadPathMtu();
    }

    public void WarmUp()
    {
        JitWarmUp.Prepare(typeof(Observer));
        var observer = new Observer(this);
        _messages.WarmUp(_socket.Fd, ref observer);
        _ = GsoTrainPlanner.Plan([], [], 0, 0, _limits, new Span<PlannedDatagram>(_datagrams, BatchCapacity));
    }

    public void BeginBatch()
    {
        if (_launch.Enabled)
        {
            _launch.BeginBatch();
        }
        _flows?.BeginBatch();
    }

    public void Add(in ScheduledPacket packet, byte* payload, int length)
    {
        int slot = _count++;
        // iovec i is packet i: a single packet's message points at it (a train is gathered into one buffer instead).
        _messages.SetVector(slot, payload, length);
        _flows?.Add(slot, payload, length, packet.DueNs);
        if (_launch.Enabled)
        {
            _launchTimes[slot] = _launch.For(packet.DueNs);
        }
        _packets[slot] = packet;
        _payloads[slot] = payload;
        _lengths[slot] = length;
    }

    public void Transmit()
    {
        // The first call's time is every packet's SentNs; a retry after a full buffer stamps its own flow send time.
        _sentAt = Libc.MonotonicNow();
        _replanned = false;
        int from = 0;
        int singlesUntil = 0;
        while (true)
        {
            int planned = Plan(from, singlesUntil);
            var observer = new Observer(this);
            int stopped = _messages.Send(_socket.Fd, planned, MaxSendRetries, ref observer);
            if (stopped == planned)
            {
                break;
            }
            // The kernel refused the train in message `stopped`: its packets go again alone, the rest as planned anew.
            PlannedDatagram refused = _datagrams[stopped];
            Refused(refused, _refusedErrno);
            from = refused.First;
            singlesUntil = refused.First + refused.Count;
            _replanned = true;
        }
        _count = 0;
    }

    /// <summary>Cuts the packets [<paramref name="from"/>, count) into datagrams and points the messages at them.</summary>
    private int Plan(int from, int singlesUntil)
    {
        ReadOnlySpan<long> launchTimes = _launch.Enabled && _sameLaunchTime ? new ReadOnlySpan<long>(_launchTimes, _count) : default;
        TrainLimits limits = _trains ? _limits : default;
        int planned = GsoTrainPlanner.Plan(new ReadOnlySpan<int>(_lengths, _count), launchTimes, from, singlesUntil, limits, new Span<PlannedDatagram>(_datagrams, BatchCapacity));
        long staged = 0;
        _gatheredUntil = 0;
        for (int message = 0; message < planned; message++)
        {
            PlannedDatagram datagram = _datagrams[message];
            int bytes = datagram.Count > 1 ? (datagram.SegmentSize * (datagram.Count - 1)) + _lengths[datagram.First + datagram.Count - 1] : 0;
            if (datagram.Count > 1 && staged + bytes <= _stagingBytes)
            {
                // Gathered before the call (Gather): one iovec for the train.
                _stagedAt[message] = (int)staged;
                _messages.SetBuffer(message, _staging + staged, bytes);
                staged += bytes;
            }
            else
            {
                // A single packet, or (payloads longer than the channel's max_payload) a train that does not fit: its packets' iovecs.
                _stagedAt[message] = -1;
                _messages.SetVectors(message, datagram.First, datagram.Count);
            }
            byte* control = _messages.Control(message);
            int controlLength = 0;
            if (datagram.Count > 1)
            {
                UdpSegmentControl.Write(control, (ushort)datagram.SegmentSize);
                controlLength = UdpSegmentControl.Space;
            }
            if (_launch.Enabled)
            {
                // One launch time per datagram: a train leaves at its first packet's time.
                TxTimeControl.Write(control + controlLength, (ulong)_launchTimes[datagram.First]);
                controlLength += TxTimeControl.Space;
            }
            _messages.SetControlLength(message, controlLength);
        }
        return planned;
    }

    /// <summary>Copies the payloads of the trains among the messages [<paramref name="from"/>, <paramref name="until"/>) into their place in the staging buffer.</summary>
    private void Gather(int from, int until)
    {
        for (int message = from; message < until; message++)
        {
            int at = _stagedAt[message];
            if (at < 0)
            {
                continue;
            }
            PlannedDatagram datagram = _datagrams[message];
            byte* to = _staging + at;
            for (int packet = datagram.First; packet < datagram.First + datagram.Count; packet++)
            {
                int length = _lengths[packet];
                Buffer.MemoryCopy(_payloads[packet], to, length, length);
                to += length;
            }
        }
    }

    /// <summary>
    /// A train the kernel refused. EIO, EINVAL and EMSGSIZE come from its GSO checks (udp_send_skb), made after
    /// the datagram was built and numbered for its TX stamps. EMSGSIZE (EINVAL on older kernels) is a
    /// segment longer than the MTU allows (it fell since it was read): trains go on within the new one. Any other
    /// EIO or EINVAL (no checksum offload before Linux 6.11, SO_NO_CHECK, the segment limit) ends trains.
    /// </summary>
    private void Refused(in PlannedDatagram train, int errorNumber)
    {
        if (errorNumber is not (Errno.EIO or Errno.EINVAL or Errno.EMSGSIZE))
        {
            // Refused before it was built (not permitted, no route...): each packet meets the error alone.
            return;
        }
        _completion.StampKeyConsumed();
        if (errorNumber != Errno.EIO)
        {
            int mtu = ReadPathMtu();
            if (mtu > 0 && train.SegmentSize + TrainLimits.HeaderBytes(_inet6) > mtu)
            {
                return;
            }
        }
        if (errorNumber != Errno.EMSGSIZE)
        {
            FallBack(errorNumber);
        }
    }

    /// <summary>No more trains on this channel: sendmmsg of one datagram per packet, said in the channel's mode.</summary>
    private void FallBack(int errorNumber)
    {
        _trains = false;
        ref ChannelModeBlock mode = ref _region.Mode;
        // The errno first: a reader that sees FellBack sees why.
        Volatile.Write(ref mode.GsoErrno, errorNumber);
        Volatile.Write(ref mode.Gso, (int)GsoState.FellBack);
        _region.Add(ChannelCounter.GsoRefused, 1);
    }

    private int ReadPathMtu()
    {
        _pathMtu = UdpSocket.PathMtu(_socket.Fd, _inet6);
        _limits = TrainLimits.For(_maxSegments, _pathMtu, _inet6);
        return _pathMtu;
    }

    public void PublishCounters()
    {
        _flows?.PublishCounters();
        if (_trainsSent != 0)
        {
            _region.Add(ChannelCounter.GsoTrains, _trainsSent);
            _region.Add(ChannelCounter.GsoTrainPackets, _trainPackets);
            _trainsSent = _trainPackets = 0;
        }
    }

    private readonly struct Observer(GsoTransmitPath path) : ISendmmsgObserver
    {
        public void BeforeCall(int from, int count, bool firstAttempt)
        {
            // The flow headers' send time first: the trains are copied as they are to leave.
            if (path._flows is { } flows)
            {
                flows.StampSent(path._datagrams[from].First, path._count, firstAttempt && !path._replanned ? path._sentAt : Libc.MonotonicNow());
                path.Gather(from, count);
            }
            else
            {
                path.Gather(Math.Max(from, path._gatheredUntil), count);
            }
            path._gatheredUntil = count;
        }

        public void OnSent(int from, int sent)
        {
            int packets = 0;
            for (int message = from; message < from + sent; message++)
            {
                PlannedDatagram datagram = path._datagrams[message];
                packets += datagram.Count;
                if (datagram.Count > 1)
                {
                    path._trainsSent++;
                    path._trainPackets += datagram.Count;
                }
                long launchTime = path._launchTimes[datagram.First];
                for (int i = 0; i < datagram.Count; i++)
                {
                    int packet = datagram.First + i;
                    path._completion.Sent(path._packets[packet], path._sentAt, launchTime, path._payloads[packet], path._lengths[packet], sameDatagram: i > 0);
                }
            }
            path._region.Add(ChannelCounter.SendCalls, 1);
            path._region.Add(ChannelCounter.SendBatchPackets, packets);
        }

        public bool IsTooBig(int slot)
        {
            // Its longest segment larger than the path MTU with its IP and UDP headers: the datagram's own EMSGSIZE.
            // Otherwise it was a router's "fragmentation needed" for an earlier one (the MTU has dropped to it since).
            PlannedDatagram datagram = path._datagrams[slot];
            int mtu = path.ReadPathMtu();
            int longest = datagram.Count > 1 ? datagram.SegmentSize : path._lengths[datagram.First];
            return mtu <= 0 || longest + TrainLimits.HeaderBytes(path._inet6) > mtu;
        }

        public bool TakesOver(int slot, int errorNumber)
        {
            if (path._datagrams[slot].Count < 2)
            {
                return false;
            }
            path._refusedErrno = errorNumber;
            return true;
        }

        public void OnResent(int slot, int errorNumber)
        {
            path._completion.Network.Resent();
            path._completion.BeforeResend();
        }

        public void OnCallFailed(int errorNumber)
        {
            path._region.Add(ChannelCounter.SendCalls, 1);
            path._region.ErrnoCounter(sendSide: true, errorNumber)++;
        }

        public void OnDropped(int slot, int errorNumber, bool afterResends)
        {
            // Every EMSGSIZE went through IsTooBig first, which read the MTU.
            int mtu = errorNumber == Errno.EMSGSIZE ? path._pathMtu : 0;
            if (afterResends)
            {
                path._completion.NetworkErrorReported();
            }
            PlannedDatagram datagram = path._datagrams[slot];
            for (int packet = datagram.First; packet < datagram.First + datagram.Count; packet++)
            {
                path._completion.Network.Dropped(errorNumber, afterResends, mtu);
                path._completion.Dropped(path._packets[packet], TxOutcome.DroppedError, errorNumber, mtu);
            }
        }
    }

    public void Dispose()
    {
        _messages.Dispose();
        NativeMemory.Free(_packets);
        NativeMemory.Free(_payloads);
        NativeMemory.Free(_lengths);
        NativeMemory.Free(_launchTimes);
        NativeMemory.Free(_datagrams);
        NativeMemory.Free(_staging);
        NativeMemory.Free(_stagedAt);
        _flows?.Dispose();
    }
}
