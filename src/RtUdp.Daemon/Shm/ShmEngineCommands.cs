using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;

namespace RtUdp.Daemon.Shm;

/// <summary>The two engine commands the broker gives (EngineConnection's AttachClient and DetachClient), in one place.</summary>
internal static class ShmEngineCommands
{
    /// <summary>Passes the memfd over engine.sock and has the intake agent take the region (the same memfd again after an engine restart).</summary>
    public static Task AttachAsync(EngineConnection engine, uint channelId, uint clientId, SafeFileHandle memfd, uint flags, ClientAttachLimits limits, CancellationToken cancellationToken) =>
        engine.AttachClientAsync(channelId, clientId, memfd, flags, limits, cancellationToken);

    /// <summary>The engine drains (within its 2 s bound) or drops what the client published, and counts what it never read.</summary>
    public static Task<ClientDetachCounts> DetachAsync(EngineConnection engine, uint channelId, uint clientId, ClientExitPolicy policy, CancellationToken cancellationToken) =>
        engine.DetachClientAsync(channelId, clientId, policy, cancellationToken);
}
