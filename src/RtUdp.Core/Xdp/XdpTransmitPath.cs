using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Engine.Send;
using RtUdp.Core.Native;
using RtUdp.Core.Net;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Sends a batch as frames on the channel's AF_XDP socket: each packet is copied from the TX ring into a UMEM frame
/// behind the Ethernet/IP/UDP headers of the channel's <see cref="UdpFrameTemplate"/>, the frames are published on
/// the socket's TX ring together, and the kernel is kicked (copy mode sends a bounded number per kick, so it is kicked
/// until it took them all). Frames the device finished come back through the completion ring at the next batch, with
/// their TX metadata timestamp where the device writes one. Allocates nothing, takes no lock, logs nothing.
/// </summary>
/// <remarks>
/// Outcomes stay the socket path's: a packet whose IP datagram exceeds the interface's MTU is dropped with EMSGSIZE
/// (the device would drop it silently); one that finds neither a free frame nor room in the TX ring within
/// <see cref="FullRingWaitNs"/> is dropped with ENOBUFS; everything else is sent, at the time of the kick.
/// </remarks>
public sealed unsafe class XdpTransmitPath : ITransmitPath
{
    /// <summary>How long a batch waits for frames the device has not finished yet before dropping what does not fit.</summary>
    public const long FullRingWaitNs = 10_000_000;

    /// <summary>Kicks per batch at most while the kernel still has frames of it in its TX ring (it takes a budget per kick).</summary>
    private const int MaxKicks = 4096;

    private readonly ChannelRegion _region;
    private readonly XskSocket _socket;
    private readonly UdpFrameTemplate _template;
    private readonly SendCompletion _completion;
    private readonly ScheduledPacket* _packets;
    private readonly byte** _payloads;
    private readonly int* _lengths;
    private readonly long* _launchTimes;
    private readonly ulong* _completed;
    private readonly LaunchTimes _launch;
    private readonly FlowBatchStamper? _flows;
    private readonly int _maxPayload;
    private readonly int _mtu;
    private readonly bool _checksumOffload;
    private readonly bool _deviceStamps;
    private readonly bool _metadata;
    private int _count;
    private long _sentAt;

    // Frames sent since the worker started, and frames the device completed: with device stamps the n-th
    // completion is the n-th frame's (one queue completes in order), which is the stamp key the tracker gave it.
    private uint _completions;

    public XdpTransmitPath(ChannelRegion region, XdpChannelPort port, SendCompletion completion)
    {
        _region = region;
        _socket = port.Socket;
        _template = port.Template;
        _completion = completion;
        BatchCapacity = region.Config.BatchSize;
        _launch = new LaunchTimes(region);
        var metadata = (XdpTxMetadataBits)region.Mode.XdpTxMetadata;
        _checksumOffload = metadata.HasFlag(XdpTxMetadataBits.Checksum);
        _deviceStamps = metadata.HasFlag(XdpTxMetadataBits.Timestamp);
        _metadata = metadata != XdpTxMetadataBits.None;
        _mtu = port.Mtu;
        _maxPayload = Math.Min(_template.MaxPayload(_mtu), _socket.TxDataCapacity - _template.HeaderLength);
        _packets = (ScheduledPacket*)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(ScheduledPacket));
        _payloads = (byte**)NativeMemory.AllocZeroed((nuint)BatchCapacity, (nuint)sizeof(byte*));
        _lengths = (int*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(int));
        _launchTimes = (long*)NativeMemory.AllocZeroed((nuint)BatchCapacity, sizeof(long));
        _completed = (ulong*)NativeMemory.AllocZeroed((nuint)_socket.Options.TxRingSize, sizeof(ulong));
        _flows = FlowBatchStamper.For(region, BatchCapacity);
    }

    public int BatchCapacity { get; }

    public void OnStart()
    {
    }

    public void WarmUp()
    {
        // The kick and the completion ring with nothing to send: both return at once.
        _ = _socket.KickTx();
        Reap();
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
        _flows?.Add(slot, payload, length, packet.DueNs);
        _launchTimes[slot] = _launch.Enabled ? _launch.For(packet.DueNs) : 0;
        _packets[slot] = packet;
        _payloads[slot] = payload;
        _lengths[slot] = length;
    }

    public void Transmit()
    {
        int count = _count;
        _count = 0;
        _sentAt = Libc.MonotonicNow();
        _flows?.StampSent(0, count, _sentAt);
        Reap();

        // Too big for the link: the device would drop it without a word; say EMSGSIZE, as the socket path does.
        int sendable = 0;
        for (int i = 0; i < count; i++)
        {
            if (_lengths[i] > _maxPayload)
            {
                _completion.Network.Dropped(Errno.EMSGSIZE, afterResends: false, _mtu);
                _completion.Dropped(_packets[i], TxOutcome.DroppedError, Errno.EMSGSIZE, _mtu);
                continue;
            }
            _packets[sendable] = _packets[i];
            _payloads[sendable] = _payloads[i];
            _lengths[sendable] = _lengths[i];
            _launchTimes[sendable] = _launchTimes[i];
            sendable++;
        }
        if (sendable == 0)
        {
            return;
        }

        int reserved = ReserveFrames(sendable);
        for (int slot = 0; slot < reserved; slot++)
        {
            WriteFrame(slot);
        }
        if (reserved > 0)
        {
            _socket.SubmitTx(reserved);
            Kick();
            _region.Add(ChannelCounter.SendCalls, 1);
            _region.Add(ChannelCounter.SendBatchPackets, reserved);
        }
        for (int i = 0; i < reserved; i++)
        {
            _completion.Sent(_packets[i], _sentAt, _launchTimes[i], _payloads[i], _lengths[i]);
        }
        for (int i = reserved; i < sendable; i++)
        {
            // Neither a frame nor a ring slot came free in time: the device is not sending (link down, queue stopped).
            _completion.Network.Dropped(Errno.ENOBUFS, afterResends: true, 0);
            _completion.Dropped(_packets[i], TxOutcome.DroppedError, Errno.ENOBUFS);
        }
    }

    /// <summary>Reserves a TX slot with a frame for up to <paramref name="wanted"/> packets, waiting up to <see cref="FullRingWaitNs"/> for the device to finish earlier frames.</summary>
    private int ReserveFrames(int wanted)
    {
        int reserved = _socket.ReserveTx(wanted);
        if (reserved == wanted)
        {
            return reserved;
        }
        long deadline = _sentAt + FullRingWaitNs;
        while (reserved < wanted && Libc.MonotonicNow() < deadline)
        {
            // What is already in the ring goes first; its completions free the frames this batch needs.
            _ = _socket.KickTx();
            Reap();
            reserved += _socket.ReserveTx(wanted - reserved);
            if (reserved < wanted)
            {
                Thread.SpinWait(20);
            }
        }
        _region.Add(ChannelCounter.TxXdpRingFullWaits, 1);
        return reserved;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteFrame(int slot)
    {
        byte* frame = _socket.TxData(slot);
        int length = _lengths[slot];
        Unsafe.CopyBlockUnaligned(frame + _template.HeaderLength, _payloads[slot], (uint)length);
        _socket.SetTxLength(slot, _template.Write(frame, length));
        if (!_metadata)
        {
            return;
        }
        Libc.xsk_tx_metadata* metadata = _socket.RequestTxMetadata(slot);
        ulong flags = 0;
        if (_checksumOffload)
        {
            // The template wrote the pseudo-header sum; the device folds in the rest from csum_start.
            flags |= Libc.XDP_TXMD_FLAGS_CHECKSUM;
            metadata->request.csum_start = (ushort)_template.ChecksumStart;
            metadata->request.csum_offset = UdpFrameTemplate.ChecksumOffset;
        }
        if (_launch.Enabled)
        {
            flags |= Libc.XDP_TXMD_FLAGS_LAUNCH_TIME;
            metadata->request.launch_time = (ulong)_launchTimes[slot];
        }
        if (_deviceStamps)
        {
            flags |= Libc.XDP_TXMD_FLAGS_TIMESTAMP;
        }
        metadata->flags = flags;
    }

    /// <summary>
    /// Makes the kernel take every frame published: copy mode sends a budget of frames per kick, synchronously.
    /// A kick the kernel refuses for good (not EAGAIN/EBUSY/ENOBUFS) is counted by its errno; the frames stay in the
    /// ring and go with the next kick.
    /// </summary>
    private void Kick()
    {
        for (int kicks = 0; kicks < MaxKicks; kicks++)
        {
            XdpKickResult result = _socket.KickTx();
            if (result == XdpKickResult.Failed)
            {
                _region.ErrnoCounter(sendSide: true, _socket.LastTxKickErrno)++;
                return;
            }
            if (result == XdpKickResult.NotNeeded || _socket.TxPending == 0)
            {
                return;
            }
        }
    }

    /// <summary>Frames the device finished go back to the pool; with device stamps, each one's stamp to its packet.</summary>
    private void Reap()
    {
        int done = _socket.CompleteTx(_socket.Options.TxRingSize, _deviceStamps ? _completed : null);
        if (!_deviceStamps)
        {
            return;
        }
        for (int i = 0; i < done; i++)
        {
            Libc.xsk_tx_metadata* metadata = _socket.TxMetadataAt(_completed[i]);
            _completion.DeviceTxStamp(_completions++, (long)metadata->completion.tx_timestamp);
        }
    }

    public void PublishCounters() => _flows?.PublishCounters();

    public void Dispose()
    {
        NativeMemory.Free(_packets);
        NativeMemory.Free(_payloads);
        NativeMemory.Free(_lengths);
        NativeMemory.Free(_launchTimes);
        NativeMemory.Free(_completed);
        _flows?.Dispose();
    }
}
