using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Core.Net;
using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Shm;

/// <summary>
/// One broker connection on a thread of its own: requests in, responses out, one attachment at most (the
/// connection is its lifetime: op 2 detaches it, and so does the connection closing, when the client exits or
/// is killed). A refused request leaves the connection open for another.
/// </summary>
internal sealed class ShmConnection
{
    private readonly ShmBroker _broker;
    private readonly int _fd;
    private ShmPeer? _peer;
    private ShmSession? _session;

    private ShmConnection(ShmBroker broker, int fd)
    {
        _broker = broker;
        _fd = fd;
    }

    public static void Start(ShmBroker broker, int fd)
    {
        var connection = new ShmConnection(broker, fd);
        var thread = new Thread(connection.Run) { IsBackground = true, Name = "rtudp-shm-client" };
        broker.Track(thread);
        thread.Start();
    }

    private void Run()
    {
        string cause = "connection closed: the client exited or was killed";
        try
        {
            _peer = ShmPeer.Of(_fd);
            Span<byte> request = stackalloc byte[ShmRequest.Size + 8];
            while (true)
            {
                if (!UnixSeqPacket.WaitReadable(_fd, 250, "shm client"))
                {
                    if (_broker.Stopping.IsCancellationRequested && _session is null)
                    {
                        return;
                    }
                    continue;
                }
                int length = UnixSeqPacket.Receive(_fd, request, out int stray, "shm client");
                // A client has no descriptor to give the daemon: any it sent is closed unread.
                UnixSeqPacket.Close(stray);
                if (length == 0)
                {
                    return;
                }
                bool close = Handle(request, length);
                if (close)
                {
                    cause = "";
                    return;
                }
            }
        }
        catch (Exception e) when (e is NativeCallException or IOException or ObjectDisposedException)
        {
            ShmLog.ConnectionFailed(_broker.Logger, e, _peer?.Description ?? "unknown peer");
            cause = "connection failed: " + e.Message;
        }
        finally
        {
            if (_session is { } session)
            {
                if (cause.Length > 0)
                {
                    _broker.DetachAsync(session, cause, ShmStatus.Detached, CancellationToken.None).GetAwaiter().GetResult();
                }
                session.Dispose();
            }
            UnixSeqPacket.Close(_fd);
        }
    }

    /// <summary>Answers one request; true when the connection is to close (after a detach).</summary>
    private bool Handle(ReadOnlySpan<byte> message, int length)
    {
        ShmPeer peer = _peer!;
        if (length < 0 || !ShmRequest.TryDecode(message[..length], out ShmRequest request))
        {
            return Refuse(ShmStatus.Version, "length", $"a request is {ShmRequest.Size} bytes, this one {(length < 0 ? "more than " + ShmRequest.Size : length.ToString(System.Globalization.CultureInfo.InvariantCulture))}: a client of another ABI version?", "");
        }
        if (request.Magic != ShmAbi.RequestMagic)
        {
            return Refuse(ShmStatus.Version, "magic", $"0x{request.Magic:x8} is not 0x{ShmAbi.RequestMagic:x8} (\"RTDA\"): not an rtudp shared-memory request", "");
        }
        if (request.AbiVersion != ShmAbi.Version)
        {
            return Refuse(ShmStatus.Version, "abi_version", $"the client speaks ABI {request.AbiVersion}, this rtudpd ABI {ShmAbi.Version}: use the librtudp of this rtudpd", "");
        }
        // SO_PEERCRED is the peer at connect: checked at every request all the same, as the spec says.
        if (peer.Refusal(_broker.DaemonUid, _broker.SocketGid) is { } refusal)
        {
            return Refuse(ShmStatus.Permission, "", refusal, request.GetChannel());
        }
        switch (request.Op)
        {
            case ShmAbi.OpAttach:
                return Attach(request);
            case ShmAbi.OpDetach:
                return Detach();
            default:
                return Refuse(ShmStatus.Invalid, "op", $"{request.Op} is not 1 (attach) or 2 (detach)", request.GetChannel());
        }
    }

    private bool Detach()
    {
        if (_session is not { } session)
        {
            return Refuse(ShmStatus.Invalid, "op", "nothing is attached on this connection", "");
        }
        (ShmStatus status, string message) = _broker.DetachAsync(session, "detach asked", ShmStatus.Detached, CancellationToken.None).GetAwaiter().GetResult();
        Reply(ShmResponse.Success(session.Channel.EngineId, session.ClientId, (ulong)session.Region.Length, message) with { Status = (int)status }, -1);
        return true;
    }

    private bool Attach(in ShmRequest request)
    {
        ShmPeer peer = _peer!;
        string name = request.GetChannel();
        if (_session is not null)
        {
            return Refuse(ShmStatus.Invalid, "op", $"this connection is attached to {_session.Channel.Name} already: one attachment per connection", name);
        }
        if (request.Reserved != 0)
        {
            return Refuse(ShmStatus.Invalid, "reserved", "must be 0", name);
        }
        string id = name.StartsWith(ChannelRegistry.Prefix, StringComparison.Ordinal) ? name[ChannelRegistry.Prefix.Length..] : name;
        if (id.Length == 0 || !_broker.Registry.TryGet(id, out ChannelEntry channel))
        {
            return Refuse(ShmStatus.NotFound, "channel", $"no channel '{name}' (rtudpctl channels ls lists them)", name);
        }
        uint flags = request.Flags == 0 ? DirectionFlags(channel.Config) : request.Flags;
        if ((flags & ~(ShmAbi.AttachSend | ShmAbi.AttachReceive)) != 0)
        {
            return Refuse(ShmStatus.Invalid, "flags", $"0x{request.Flags:x} has bits other than send (1) and receive (2)", name);
        }
        if ((flags & ShmAbi.AttachSend) != 0 && !channel.Config.Sends)
        {
            return Refuse(ShmStatus.Precondition, "flags", $"{channel.Name} does not send (direction {channel.Config.Direction.ToString().ToLowerInvariant()})", name);
        }
        if ((flags & ShmAbi.AttachReceive) != 0 && !channel.Config.Receives)
        {
            return Refuse(ShmStatus.Precondition, "flags", $"{channel.Name} does not receive (direction {channel.Config.Direction.ToString().ToLowerInvariant()})", name);
        }
        if (RingBytes(request.TxRingBytes, (flags & ShmAbi.AttachSend) != 0, "tx_ring_bytes", name, out int txBytes) is false
            || RingBytes(request.RxRingBytes, (flags & ShmAbi.AttachReceive) != 0, "rx_ring_bytes", name, out int rxBytes) is false)
        {
            return false;
        }
        if (_broker.Supervisor.Client is not { } engine)
        {
            return Refuse(ShmStatus.Precondition, "channel", "the engine is not running (being started or restarted): try again shortly", name);
        }
        if (channel.Handle is not { } handle || handle.State != ChannelState.Running)
        {
            string state = channel.Handle is { } h ? h.State.ToString().ToLowerInvariant() : "detached: " + (channel.DetachedReason ?? "no engine");
            return Refuse(ShmStatus.Precondition, "channel", $"{channel.Name} is not running ({state}): rtudpctl channels start {id}", name);
        }
        if ((flags & ShmAbi.AttachReceive) != 0 && _broker.Captures.IsExclusive(channel))
        {
            return Refuse(ShmStatus.Precondition, "flags", $"an EXCLUSIVE capture drains {channel.Name}; stop it to receive here", name);
        }
        if (_broker.Sessions.TryReserve(peer.Uid, _broker.Limits.PerClientShmAttachments, Limits.ClientLimitsOptions.MaxShmAttachments, out uint clientId) is { } exhausted)
        {
            return Refuse(ShmStatus.Exhausted, "", exhausted, name);
        }
        bool receiverClaimed = false;
        SafeFileHandle? memfd = null;
        ClientRegion? region = null;
        try
        {
            if ((flags & ShmAbi.AttachReceive) != 0)
            {
                if (!channel.TryClaimShmReceiver(peer.Description))
                {
                    _broker.Sessions.Unreserve(peer.Uid);
                    return Refuse(ShmStatus.Precondition, "flags", $"{channel.Name} has a same-host receiver already ({channel.ShmReceiver}): one client receives a channel's packets", name);
                }
                receiverClaimed = true;
            }
            var spec = new ClientRegionSpec
            {
                ChannelId = channel.EngineId,
                ClientId = clientId,
                Flags = flags,
                MaxPayload = (uint)channel.Config.MaxPayload,
                TxCapacity = txBytes,
                RxCapacity = rxBytes,
                HorizonNs = _broker.HorizonNs,
            };
            if (ClientRegion.Validate(spec) is { } problem)
            {
                Release(channel, peer, receiverClaimed);
                return Refuse(ShmStatus.Invalid, txBytes != 0 && problem.StartsWith("a TX", StringComparison.Ordinal) ? "tx_ring_bytes" : "rx_ring_bytes", problem, name);
            }
            (memfd, region) = ClientRegion.CreateMemfd($"rtudp-client-{clientId}", spec);
            var limits = new ClientAttachLimits(_broker.Limits.PerClientPacketsPerSecond, _broker.Limits.EffectiveBurst, _broker.Limits.PerClientQueuedPackets, _broker.HorizonNs);
            using (var timeout = new CancellationTokenSource(ShmBroker.CommandTimeout))
            {
                ShmEngineCommands.AttachAsync(engine, channel.EngineId, clientId, memfd, flags, limits, timeout.Token).GetAwaiter().GetResult();
            }
            var session = new ShmSession(_fd, clientId, channel, peer, flags, memfd, region, limits) { AttachedTo = engine };
            _session = session;
            _broker.Sessions.Add(session);
            memfd = null;
            region = null;
            string direction = Direction(flags);
            ShmLog.Attached(_broker.Logger, clientId, peer.Description, channel.Name, direction, txBytes, rxBytes);
            // The client maps the region from this descriptor; if it is gone already, EOF detaches it next.
            Reply(ShmResponse.Success(channel.EngineId, clientId, (ulong)session.Region.Length, "attached"), session.Memfd.DangerousGetHandle().ToInt32());
            return false;
        }
        catch (Exception e) when (e is Core.Contract.Control.EngineCommandException or NativeCallException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException or ArgumentException)
        {
            if (_session is null)
            {
                Release(channel, peer, receiverClaimed);
                region?.Dispose();
                memfd?.Dispose();
                ShmStatus status = e is Core.Contract.Control.EngineCommandException { Status: Core.Contract.Control.EngineStatus.NotFound } ? ShmStatus.NotFound
                    : e is Core.Contract.Control.EngineCommandException ? ShmStatus.Precondition : ShmStatus.System;
                return Refuse(status, "", $"attaching to {channel.Name}: {e.Message}", name);
            }
            throw;
        }
    }

    private void Release(ChannelEntry channel, ShmPeer peer, bool receiverClaimed)
    {
        if (receiverClaimed)
        {
            channel.ReleaseShmReceiver(peer.Description);
        }
        _broker.Sessions.Unreserve(peer.Uid);
    }

    /// <summary>0: the default for a ring the attachment uses, none for one it does not; else a power of two in range.</summary>
    private bool RingBytes(uint asked, bool used, string field, string channel, out int bytes)
    {
        bytes = 0;
        if (!used)
        {
            return true;
        }
        uint value = asked == 0 ? ShmAbi.DefaultRingBytes : asked;
        if (value < ShmAbi.MinRingBytes || value > ShmAbi.MaxRingBytes || (value & (value - 1)) != 0)
        {
            Refuse(ShmStatus.Invalid, field, $"{asked} is not 0 (1 MiB) or a power of two from {ShmAbi.MinRingBytes} to {ShmAbi.MaxRingBytes}", channel);
            return false;
        }
        bytes = (int)value;
        return true;
    }

    private static uint DirectionFlags(ChannelConfig config) =>
        (config.Sends ? ShmAbi.AttachSend : 0) | (config.Receives ? ShmAbi.AttachReceive : 0);

    private static string Direction(uint flags) => flags switch
    {
        ShmAbi.AttachSend => "send",
        ShmAbi.AttachReceive => "receive",
        _ => "send and receive",
    };

    /// <summary>Answers with an error (the connection stays open); returns false (do not close).</summary>
    private bool Refuse(ShmStatus status, string field, string message, string channel)
    {
        string peer = _peer?.Description ?? "unknown peer";
        if (status is ShmStatus.Permission or ShmStatus.Exhausted or ShmStatus.NotFound or ShmStatus.Precondition)
        {
            ShmLog.Refused(_broker.Logger, peer, channel, ShmStatusNames.Name(status), message);
        }
        else
        {
            ShmLog.BadRequest(_broker.Logger, peer, ShmStatusNames.Name(status), field, message);
        }
        Reply(ShmResponse.Failure(status, field.Length == 0 ? null : field, message), -1);
        return false;
    }

    private void Reply(in ShmResponse response, int passFd)
    {
        Span<byte> bytes = stackalloc byte[ShmResponse.Size];
        response.Encode(bytes);
        try
        {
            UnixSeqPacket.Send(_fd, bytes, passFd, "shm client");
        }
        catch (NativeCallException e) when (e.Errno == Errno.EPIPE || e.Errno == Tmds.Linux.LibC.ECONNRESET)
        {
            // The client went: the next receive sees EOF and detaches what it had.
        }
    }
}
