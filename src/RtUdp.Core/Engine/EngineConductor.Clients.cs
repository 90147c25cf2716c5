using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine.Clients;
using RtUdp.Core.Native;
using Microsoft.Win32.SafeHandles;

namespace RtUdp.Core.Engine;

/// <summary>The conductor's commands for same-host clients: attach a client's region, detach it (docs/shm-clients.md).</summary>
public sealed unsafe partial class EngineConductor
{
    /// <summary>Longer than any drain a detach asks for, so an intake agent that died is reported rather than waited for forever.</summary>
    private static readonly TimeSpan IntakeAckTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How long a DetachClient command waits for the agent before it answers "pending".</summary>
    private const long QuickDetachNs = 5_000_000;

    /// <summary>A detach that names no drain time gets this one (rtudp_detach waits as long).</summary>
    private static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(2);

    private void AttachClient(in ClientCommandBody command)
    {
        if (_intake is null || _inbox is null)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, "This engine takes no same-host clients.");
        }
        EngineChannel channel = Find(command.ChannelId);
        ChannelConfig config = channel.Config.ToConfig();
        var limits = new ClientAttachLimits(command.PacketsPerSecond, command.Burst, command.QueuedPackets, command.HorizonNs);
        if (limits.Problem() is { } problem)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"limits: {problem}", "limits");
        }
        if ((command.Flags & ~ClientRegionFlags.All) != 0 || (command.Flags & ClientRegionFlags.All) == 0)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"flags: 0x{command.Flags:x} is neither send, receive nor both", "flags");
        }
        if ((command.Flags & ClientRegionFlags.Send) != 0 && !config.Sends)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"Channel {command.ChannelId} does not send.");
        }
        if ((command.Flags & ClientRegionFlags.Receive) != 0 && !config.Receives)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"Channel {command.ChannelId} does not receive.");
        }
        using SafeFileHandle memfd = _inbox.Take(command.DescriptorToken)
            ?? throw new EngineCommandException(EngineStatus.InvalidArgument, $"No descriptor arrived on {EngineControlLayout.SocketFileName} with token {command.DescriptorToken}.");
        ClientRegion region;
        try
        {
            // Prefaulted: the intake agent never takes a first-touch fault in it.
            region = ClientRegion.Map((int)memfd.DangerousGetHandle(), prefault: true);
        }
        catch (ClientRegionException e)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"client region: {e.Message}");
        }
        try
        {
            CheckRegion(region, command, config);
            _intake.Attach(region, channel.Region, command.Flags, limits);
        }
        catch (InvalidOperationException e)
        {
            region.Dispose();
            throw new EngineCommandException(e.Message.Contains("at most", StringComparison.Ordinal) ? EngineStatus.ResourceExhausted : EngineStatus.FailedPrecondition, e.Message);
        }
        catch
        {
            region.Dispose();
            throw;
        }
        _log($"channel {command.ChannelId}: client {command.ClientId} attached ({Describe(command.Flags)}, TX ring {region.TxCapacity >> 10} KiB, RX ring {region.RxCapacity >> 10} KiB"
            + $", limits {command.PacketsPerSecond} pkt/s burst {command.Burst} queued {command.QueuedPackets})");
    }

    private static void CheckRegion(ClientRegion region, in ClientCommandBody command, ChannelConfig config)
    {
        if (region.ChannelId != command.ChannelId || region.ClientId != command.ClientId)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument,
                $"client region: made for channel {region.ChannelId} client {region.ClientId}, attached as channel {command.ChannelId} client {command.ClientId}");
        }
        if ((command.Flags & ~region.Flags) != 0)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument,
                $"client region: flags 0x{region.Flags:x} lack 0x{command.Flags & ~region.Flags:x} the attachment asks for");
        }
        if (region.MaxPayload > config.MaxPayload)
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument,
                $"client region: max payload {region.MaxPayload} is over the channel's {config.MaxPayload}");
        }
    }

    private void DetachClient(in ClientCommandBody command, ref ResponseBody response)
    {
        if (_intake is null)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, "This engine takes no same-host clients.");
        }
        var policy = (ClientExitPolicy)command.ExitPolicy;
        if (policy is not (ClientExitPolicy.Drain or ClientExitPolicy.Drop))
        {
            throw new EngineCommandException(EngineStatus.InvalidArgument, $"exit policy {command.ExitPolicy} is neither drain (1) nor drop (2)", "exit_policy");
        }
        TimeSpan drain = command.DrainTimeoutNs > 0 ? TimeSpan.FromMilliseconds(command.DrainTimeoutNs / 1_000_000.0) : DefaultDrainTimeout;
        if (!_intake.BeginDetach(command.ChannelId, command.ClientId, policy, drain))
        {
            throw new EngineCommandException(EngineStatus.NotFound, $"Client {command.ClientId} is not attached to channel {command.ChannelId}.");
        }
        // A drop, or a drain with nothing held back, is done within a pass of the agent and answered now. A drain that
        // waits for the client's limits or a full ring is answered "pending" and rtudpd asks again: the conductor
        // never waits on it, as its heartbeat and every other command would wait too.
        long until = Libc.MonotonicNow() + QuickDetachNs;
        (ClientDetachCounts Counts, ClientRegion Region)? done;
        while ((done = _intake.TryCompleteDetach(command.ChannelId, command.ClientId)) is null && Libc.MonotonicNow() < until)
        {
            Thread.Sleep(0);
        }
        if (done is not { } detached)
        {
            response.ClientDetachPending = 1;
            return;
        }
        ClientDetachCounts counts = Finish(command.ChannelId, command.ClientId, policy, "detached", detached);
        response.ClientDrained = counts.Drained;
        response.ClientDropped = counts.Dropped;
        response.ClientRxUnread = counts.RxUnread;
    }

    /// <summary>Marks the region detached (unless faulted), unmaps it and logs the counts.</summary>
    private ClientDetachCounts Finish(uint channelId, uint clientId, ClientExitPolicy policy, string reason, (ClientDetachCounts Counts, ClientRegion Region) detached)
    {
        using (ClientRegion region = detached.Region)
        {
            if (region.State != ClientState.Faulted)
            {
                region.SetState(ClientState.Detached, ShmStatus.Detached, reason);
            }
        }
        ClientDetachCounts counts = detached.Counts;
        _log($"channel {channelId}: client {clientId} {reason} ({policy}): drained {counts.Drained}, dropped {counts.Dropped}, rx unread {counts.RxUnread}");
        return counts;
    }

    private ClientDetachCounts? Detach(uint channelId, uint clientId, ClientExitPolicy policy, TimeSpan drain, string reason)
    {
        (ClientDetachCounts Counts, ClientRegion Region)? result;
        try
        {
            result = _intake!.Detach(channelId, clientId, policy, drain, IntakeAckTimeout);
        }
        catch (TimeoutException e)
        {
            throw new EngineCommandException(EngineStatus.Internal, e.Message);
        }
        return result is { } detached ? Finish(channelId, clientId, policy, reason, detached) : null;
    }

    /// <summary>Drops every client of a channel that is going away (the intake agent holds pointers into its memory).</summary>
    private void DetachClientsOf(uint channelId, string reason)
    {
        if (_intake is null)
        {
            return;
        }
        foreach (uint clientId in _intake.ClientsOf(channelId))
        {
            try
            {
                _ = Detach(channelId, clientId, ClientExitPolicy.Drop, TimeSpan.Zero, reason);
            }
            catch (EngineCommandException e)
            {
                _log($"channel {channelId}: detaching client {clientId} failed: {e.Message}");
            }
        }
    }

    private static string Describe(uint flags) => (flags & ClientRegionFlags.All) switch
    {
        ClientRegionFlags.Send => "send",
        ClientRegionFlags.Receive => "receive",
        _ => "send and receive",
    };
}
