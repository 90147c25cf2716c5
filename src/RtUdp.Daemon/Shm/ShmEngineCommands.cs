using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;

namespace RtUdp.Daemon.Shm;

/// <summary>The two engine commands the broker gives (EngineConnection's AttachClient and DetachClient), in one place.</summary>
internal static class ShmEngineCommands
{
    public static Task AttachAsync(EngineConnection engine, uint channelId, uint clientId, SafeFileHandle memfd, ClientAttachLimits limits, CancellationToken cancellationToken) =>
        throw new NotSupportedException("AttachClient: the engine side is not merged yet");

    public static Task<ClientDetachCounts> DetachAsync(EngineConnection engine, uint channelId, uint clientId, ClientExitPolicy policy, CancellationToken cancellationToken) =>
        throw new NotSupportedException("DetachClient: the engine side is not merged yet");
}
