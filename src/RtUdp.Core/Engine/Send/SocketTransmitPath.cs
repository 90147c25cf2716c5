using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Sends a batch with one sendmmsg on the channel's UDP socket (more when the kernel takes part of it),
/// each packet's payload straight from the TX ring. With launch time each datagram carries its
/// SCM_TXTIME control message; on a sequenced channel the flow header's send time is written just
/// before each call.
/// </summary>
public sealed unsafe class SocketTransmitPath : ITransmitPath
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
    private readonly LaunchTimes _launch;
    private readonly FlowBatchStamper? _flows;
    private readonly bool _inet6;
    private int _count;
    private long _sentAt;

    // The path MTU read for the last EMSGSIZE (by IsTooBig), given to the drop that may follow.
    private int _pathMtu;

    public SocketTransmitPath(ChannelRegion region, UdpSocket socket, SendCompletion completion)
    {
        _region = region;
        _socket = socket;
        _completion = completion;
        BatchCapacity = region.Config.BatchSize;
        _launch = new LaunchTimes(region);
        _messages = new MessageBatch(BatchCapacity, _launch.Enabled ? TxTimeControl.Space : 0);
        _packets = (ScheduledPacket*)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(ScheduledPacket));
        _payloads = (byte**)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(byte*));
        _lengths = (int*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(int));
        _inet6 = socket.IsInet6;
        _launchTimes = (long*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(long));
        _flows = FlowBatchStamper.For(region, BatchCapacity);
    }

    public int BatchCapacity { get; }

    public void OnStart()
    {
        // Our stamp keys count from 0: make the kernel's OPT_ID count from 0 too.
        SocketTimestamping.RestartIds(_socket.Fd, _socket.TimestampingFlags);
        if (_launch.Enabled)
        {
            _launch.Enable(_socket.Fd, ((ChannelFlags)_region.Config.Flags).HasFlag(ChannelFlags.LaunchDeadlineMode));
        }
    }

    public void WarmUp()
    {
        var observer = new Observer(this);
        _messages.WarmUp(_socket.Fd, ref observer);
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
        _messages.SetPayload(slot, payload, length);
        _flows?.Add(slot, payload, length, packet.DueNs);
        if (_launch.Enabled)
        {
            // The packet's time, already in the qdisc's clock, in its SCM_TXTIME control message.
            long launch = _launch.For(packet.DueNs);
            _launchTimes[slot] = launch;
            TxTimeControl.Write(_messages.Control(slot), (ulong)launch);
        }
        _packets[slot] = packet;
        _payloads[slot] = payload;
        _lengths[slot] = length;
    }

    public void Transmit()
    {
        // The first call's time is every packet's SentNs; a retry after a full buffer stamps its own flow send time.
        _sentAt = Libc.MonotonicNow();
        var observer = new Observer(this);
        _ = _messages.Send(_socket.Fd, _count, MaxSendRetries, ref observer);
        _count = 0;
    }

    public void PublishCounters() => _flows?.PublishCounters();

    private readonly struct Observer(SocketTransmitPath path) : ISendmmsgObserver
    {
        public void BeforeCall(int from, int count, bool firstAttempt) =>
            path._flows?.StampSent(from, count, firstAttempt ? path._sentAt : Libc.MonotonicNow());

        public void OnSent(int from, int sent)
        {
            path._region.Add(ChannelCounter.SendCalls, 1);
            path._region.Add(ChannelCounter.SendBatchPackets, sent);
            for (int i = from; i < from + sent; i++)
            {
                path._completion.Sent(path._packets[i], path._sentAt, path._launchTimes[i], path._payloads[i], path._lengths[i]);
            }
        }

        public bool IsTooBig(int slot)
        {
            // Larger than the path MTU with its IP and UDP headers: the packet's own EMSGSIZE. Otherwise it
            // was a router's "fragmentation needed" for an earlier one (the MTU has dropped to it since).
            int mtu = path._pathMtu = UdpSocket.PathMtu(path._socket.Fd, path._inet6);
            int headers = (path._inet6 ? 40 : 20) + 8;
            return mtu <= 0 || path._lengths[slot] + headers > mtu;
        }

        // One datagram per packet: its own error drops it.
        public bool TakesOver(int slot, int errorNumber) => false;

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
            path._completion.Network.Dropped(errorNumber, afterResends, mtu);
            if (afterResends)
            {
                path._completion.NetworkErrorReported();
            }
            path._completion.Dropped(path._packets[slot], TxOutcome.DroppedError, errorNumber, mtu);
        }
    }

    public void Dispose()
    {
        _messages.Dispose();
        NativeMemory.Free(_packets);
        NativeMemory.Free(_payloads);
        NativeMemory.Free(_lengths);
        NativeMemory.Free(_launchTimes);
        _flows?.Dispose();
    }
}
