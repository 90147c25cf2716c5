namespace RtUdp.Daemon.Shm;

/// <summary>The broker's log events: ids 800-819.</summary>
internal static partial class ShmLog
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "Same-host clients: listening on {Path} (SOCK_SEQPACKET, mode {Mode}, group {Group})")]
    public static partial void Listening(ILogger logger, string path, string mode, string group);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "Same-host client {ClientId} ({Peer}) attached to {Channel}: {Direction}, TX ring {TxBytes} B, RX ring {RxBytes} B")]
    public static partial void Attached(ILogger logger, uint clientId, string peer, string channel, string direction, int txBytes, int rxBytes);

    [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "Same-host client {ClientId} ({Peer}) detached from {Channel} ({Cause}, client_exit {Policy}): {Drained} sent on, {Dropped} dropped, {RxUnread} received and never read")]
    public static partial void Detached(ILogger logger, uint clientId, string peer, string channel, string cause, string policy, long drained, long dropped, long rxUnread);

    [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "Same-host attach refused ({Peer}, channel '{Channel}'): {Status} {Message}")]
    public static partial void Refused(ILogger logger, string peer, string channel, string status, string message);

    [LoggerMessage(EventId = 804, Level = LogLevel.Warning, Message = "Same-host client {ClientId} ({Peer}) on {Channel}: the detach failed ({Reason}); what its ring held is not accounted")]
    public static partial void DetachFailed(ILogger logger, uint clientId, string peer, string channel, string reason);

    [LoggerMessage(EventId = 805, Level = LogLevel.Information, Message = "Same-host client {ClientId} ({Peer}) reattached to {Channel} in the new engine (epoch {Epoch})")]
    public static partial void Reattached(ILogger logger, uint clientId, string peer, string channel, uint epoch);

    [LoggerMessage(EventId = 806, Level = LogLevel.Warning, Message = "Same-host client {ClientId} ({Peer}) on {Channel} could not be reattached: {Reason}")]
    public static partial void ReattachFailed(ILogger logger, uint clientId, string peer, string channel, string reason);

    [LoggerMessage(EventId = 807, Level = LogLevel.Information, Message = "Same-host clients: the engine stopped, {Count} attachment(s) wait for the next one (state reattaching)")]
    public static partial void Reattaching(ILogger logger, int count);

    [LoggerMessage(EventId = 808, Level = LogLevel.Information, Message = "Same-host client {ClientId} ({Peer}): {Channel} was deleted, the attachment ended")]
    public static partial void ChannelDeleted(ILogger logger, uint clientId, string peer, string channel);

    [LoggerMessage(EventId = 809, Level = LogLevel.Warning, Message = "Same-host clients: a request from {Peer} refused: {Status} {Field}: {Message}")]
    public static partial void BadRequest(ILogger logger, string peer, string status, string field, string message);

    [LoggerMessage(EventId = 810, Level = LogLevel.Error, Message = "Same-host clients: the broker connection of {Peer} failed")]
    public static partial void ConnectionFailed(ILogger logger, Exception exception, string peer);

    [LoggerMessage(EventId = 811, Level = LogLevel.Error, Message = "Same-host clients: accepting on {Path} failed; no new client can attach")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 812, Level = LogLevel.Information, Message = "Same-host clients: no broker socket (Listen:ShmSocket is empty)")]
    public static partial void Disabled(ILogger logger);

    [LoggerMessage(EventId = 813, Level = LogLevel.Information, Message = "Listen:UnixSocketGroup: no group {Group}: {Path} keeps the daemon's group")]
    public static partial void NoSocketGroup(ILogger logger, string group, string path);
}
