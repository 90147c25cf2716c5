using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using RtUdp.Core.Net;

namespace RtUdp.Core.ShmClient;

/// <summary>
/// One attachment to a channel: the client's side of its region (docs/shm-clients.md). The hot-path calls
/// (<see cref="TryWrite"/>, <see cref="Publish"/>, <see cref="TrySend"/>, <see cref="Receive"/>, <see cref="ReadStats"/>)
/// allocate nothing, take no lock and return a status; their messages are constant strings. The TX side has one
/// producer and the RX side one consumer: one thread sends, one thread receives (they may differ).
/// </summary>
public sealed unsafe class ShmAttachment : IDisposable
{
    /// <summary>How long <see cref="Detach"/> waits for the engine to take what was published.</summary>
    public const int DetachDrainTimeoutMs = 2_000;

    // Receive re-checks the region's state at least this often while it waits (a detach also rings the doorbell).
    private const long WaitSliceNs = 100_000_000;

    private readonly ShmClient _owner;
    private readonly ClientRegion _region;
    private readonly string _socketPath;
    private readonly bool _sends;
    private readonly bool _receives;
    private ClientTxWriter _tx;
    private ClientRxReader _rx;
    private int _connection;
    private volatile bool _detached;
    private string? _lastMessage;
    private ShmStatus _lastStatus;

    internal ShmAttachment(ShmClient owner, int connection, ClientRegion region, string socketPath)
    {
        _owner = owner;
        _connection = connection;
        _region = region;
        _socketPath = socketPath;
        _sends = region.Sends;
        _receives = region.Receives;
        if (_sends)
        {
            _tx = region.TxWriter();
        }
        if (_receives)
        {
            _rx = region.RxReader();
        }
        ChannelId = region.ChannelId;
        ClientId = region.ClientId;
        MaxPayload = (uint)region.MaxPayload;
    }

    public uint ChannelId { get; }

    /// <summary>Unique per daemon life.</summary>
    public uint ClientId { get; }

    /// <summary>The channel's max payload: a longer one is <see cref="ShmStatus.TooLarge"/>.</summary>
    public uint MaxPayload { get; }

    public bool Sends => _sends;

    public bool Receives => _receives;

    /// <summary>
    /// What the last failing call said. For <see cref="ShmStatus.Detached"/> and <see cref="ShmStatus.Faulted"/> it is
    /// the region's own message (why the daemon or the engine ended it), read when asked (it allocates then).
    /// </summary>
    public string? LastMessage =>
        _lastStatus is ShmStatus.Detached or ShmStatus.Faulted && !_detached ? $"{_lastMessage}: {_region.Message}" : _lastMessage;

    /// <summary>The region's state (1 attached, 2 detached, 3 faulted, 4 reattaching); 2 once detached here.</summary>
    public ClientState State => _detached ? ClientState.Detached : _region.State;

    /// <summary>
    /// Writes one packet into the TX ring without publishing it (<see cref="Publish"/> makes every written packet
    /// visible at once). <paramref name="timeNs"/>: CLOCK_MONOTONIC ns (ignored with <see cref="ShmAbi.SendImmediate"/>);
    /// <paramref name="packetId"/>: the gRPC API's rules (0: none).
    /// </summary>
    /// <returns><see cref="ShmStatus.Ok"/>; <see cref="ShmStatus.Again"/> when the ring is full (nothing written).</returns>
    public ShmStatus TryWrite(ReadOnlySpan<byte> payload, long timeNs, long packetId, uint flags)
    {
        ShmStatus state = CheckState();
        if (state != ShmStatus.Ok)
        {
            return state;
        }
        if (!_sends)
        {
            return Fail(ShmStatus.Invalid, "this attachment does not send (attached without RTUDP_ATTACH_SEND)");
        }
        if ((uint)payload.Length > MaxPayload)
        {
            return Fail(ShmStatus.TooLarge, "length: the payload is over the channel's max payload");
        }
        if ((flags & ~ShmAbi.SendImmediate) != 0)
        {
            return Fail(ShmStatus.Invalid, "flags: only RTUDP_SEND_IMMEDIATE (1) is defined");
        }
        if ((flags & ShmAbi.SendImmediate) == 0 && timeNs <= 0)
        {
            return Fail(ShmStatus.Invalid, "time_ns: a due time must be a CLOCK_MONOTONIC time > 0 (or flag RTUDP_SEND_IMMEDIATE)");
        }
        if (!_tx.TryWrite(payload, timeNs, packetId, (int)flags))
        {
            return Fail(ShmStatus.Again, "the TX ring is full (or the engine throttles this client): try again");
        }
        return ShmStatus.Ok;
    }

    /// <summary>Publishes what <see cref="TryWrite"/> wrote; wakes the engine's intake agent only if it sleeps.</summary>
    public void Publish()
    {
        if (_sends && !_detached)
        {
            _tx.Publish();
        }
    }

    /// <summary><see cref="TryWrite"/> then <see cref="Publish"/>.</summary>
    public ShmStatus TrySend(ReadOnlySpan<byte> payload, long timeNs, long packetId, uint flags)
    {
        ShmStatus status = TryWrite(payload, timeNs, packetId, flags);
        if (status == ShmStatus.Ok)
        {
            _tx.Publish();
        }
        return status;
    }

    /// <summary>
    /// Takes the next received packet into <paramref name="buffer"/>, waiting up to <paramref name="timeoutNs"/>
    /// (0: no wait; negative: forever).
    /// </summary>
    /// <returns>
    /// Its length (≥ 0), or a negative <see cref="ShmStatus"/>: <see cref="ShmStatus.Timeout"/>,
    /// <see cref="ShmStatus.Buffer"/> (the packet stays; <paramref name="info"/> has its length), ...
    /// </returns>
    public int Receive(Span<byte> buffer, long timeoutNs, out RxRecordInfo info)
    {
        info = default;
        if (!_receives)
        {
            return (int)Fail(ShmStatus.Invalid, "this attachment does not receive (attached without RTUDP_ATTACH_RECEIVE)");
        }
        long deadline = timeoutNs > 0 ? Libc.MonotonicNow() + timeoutNs : timeoutNs;
        while (true)
        {
            ShmStatus state = CheckState();
            if (state != ShmStatus.Ok)
            {
                return (int)state;
            }
            int taken = TryTake(buffer, out info);
            if (taken != (int)ShmStatus.Timeout)
            {
                return taken;
            }
            if (timeoutNs == 0)
            {
                return (int)Fail(ShmStatus.Timeout, "nothing received");
            }
            int ticket = _rx.PrepareWait();
            taken = TryTake(buffer, out info);
            if (taken != (int)ShmStatus.Timeout || CheckState() != ShmStatus.Ok)
            {
                _rx.CancelWait();
                if (taken != (int)ShmStatus.Timeout)
                {
                    return taken;
                }
                continue;
            }
            long now = Libc.MonotonicNow();
            if (deadline > 0 && now >= deadline)
            {
                _rx.CancelWait();
                return (int)Fail(ShmStatus.Timeout, "nothing received within the timeout");
            }
            long until = deadline > 0 ? Math.Min(deadline, now + WaitSliceNs) : now + WaitSliceNs;
            _ = _rx.Wait(ticket, until);
        }
    }

    /// <summary>The counters and ring fill levels (a racy snapshot; allocates nothing).</summary>
    public ShmStats ReadStats()
    {
        if (_detached)
        {
            return new ShmStats { State = (uint)ClientState.Detached, ChannelId = ChannelId, ClientId = ClientId, MaxPayload = MaxPayload };
        }
        return new ShmStats
        {
            TxAccepted = _region.Counter(ClientCounter.TxAccepted),
            TxMalformed = _region.Counter(ClientCounter.TxMalformed),
            TxThrottled = _region.Counter(ClientCounter.TxThrottled),
            TxDroppedDetach = _region.Counter(ClientCounter.TxDroppedDetach),
            RxDelivered = _region.Counter(ClientCounter.RxDelivered),
            RxUnreadDetach = _region.Counter(ClientCounter.RxUnreadDetach),
            Faults = _region.Counter(ClientCounter.Faults),
            TxRingUsedBytes = _sends ? (ulong)Math.Max(0, _tx.UsedBytes) : 0,
            TxRingCapacity = (ulong)_region.TxCapacity,
            RxRingUsedBytes = _receives ? (ulong)Math.Max(0, _rx.UsedBytes) : 0,
            RxRingCapacity = (ulong)_region.RxCapacity,
            State = (uint)_region.State,
            EngineEpoch = _region.Epoch,
            ChannelId = ChannelId,
            ClientId = ClientId,
            MaxPayload = MaxPayload,
        };
    }

    /// <summary>
    /// Ends the attachment: waits up to <see cref="DetachDrainTimeoutMs"/> for the engine to take what was published
    /// (packets written but never published are not sent), then asks the daemon to detach (op 2), which applies the
    /// channel's client_exit policy to anything left. Returns the daemon's status (<see cref="ShmStatus.Detached"/>
    /// when already detached); <see cref="LastMessage"/> has its message (the counts).
    /// </summary>
    public ShmStatus Detach()
    {
        int connection = Interlocked.Exchange(ref _connection, -1);
        if (connection < 0)
        {
            return Fail(ShmStatus.Detached, "already detached");
        }
        ShmStatus status;
        try
        {
            if (_region.State == ClientState.Detached)
            {
                // The daemon ended it (channel deleted, engine restart failed) and closed the connection: nothing to ask.
                status = ShmStatus.Detached;
                _lastStatus = status;
                _lastMessage = "the attachment had ended: " + _region.Message;
                return status;
            }
            if (_sends && _region.State is ClientState.Attached or ClientState.Reattaching)
            {
                WaitForEngineToTake();
            }
            ShmResponse response = ShmClient.Exchange(connection, ShmRequest.Detach(), _socketPath, out int stray);
            UnixSeqPacket.Close(stray);
            status = response.StatusCode;
            _lastStatus = status;
            _lastMessage = response.GetMessage();
        }
        catch (ShmException e)
        {
            status = e.Status;
            _lastStatus = status;
            _lastMessage = e.Message;
        }
        finally
        {
            _detached = true;
            UnixSeqPacket.Close(connection);
            _region.Dispose();
            _owner.Forget(this);
        }
        return status;
    }

    public void Dispose() => Detach();

    private void WaitForEngineToTake()
    {
        long deadline = Libc.MonotonicNow() + (DetachDrainTimeoutMs * 1_000_000L);
        // Not a ring the client can wait on: the intake agent moves the head without ringing anyone. A short
        // sleep between looks is cheap beside the 2 s bound and happens once per attachment.
        while (_region.TxHead < _region.TxTail && _region.State is ClientState.Attached or ClientState.Reattaching && Libc.MonotonicNow() < deadline)
        {
            Thread.Sleep(1);
        }
    }

    private int TryTake(Span<byte> buffer, out RxRecordInfo info)
    {
        try
        {
            if (_rx.TryRead(buffer, out info, out int length))
            {
                return length;
            }
            if (length > buffer.Length)
            {
                return (int)Fail(ShmStatus.Buffer, "the buffer is smaller than the next packet (it stays; info.length says how long it is)");
            }
            return (int)ShmStatus.Timeout;
        }
        catch (ClientRegionException)
        {
            info = default;
            return (int)Fail(ShmStatus.Faulted, "the RX ring does not frame: the region is corrupt");
        }
    }

    /// <summary>Ok while attached or reattaching (records wait in the ring across an engine restart).</summary>
    private ShmStatus CheckState()
    {
        if (_detached)
        {
            return Fail(ShmStatus.Detached, "detached");
        }
        ClientState state = _region.State;
        return state switch
        {
            ClientState.Attached or ClientState.Reattaching => ShmStatus.Ok,
            ClientState.Faulted => Fail(ShmStatus.Faulted, "the engine found this client's ring corrupt and reads it no more"),
            _ => Fail(ShmStatus.Detached, "the attachment ended"),
        };
    }

    private ShmStatus Fail(ShmStatus status, string message)
    {
        _lastStatus = status;
        _lastMessage = message;
        return status;
    }
}
