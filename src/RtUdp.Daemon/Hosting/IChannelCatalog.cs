using RtUdp.Core.EngineLink;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Daemon.Hosting;

/// <summary>A channel the daemon keeps alive across engine restarts.</summary>
/// <param name="Started">Its workers should run (it was started and not stopped).</param>
/// <param name="Handle">Its handle in the current engine; null while it is not attached (engine down, restore failed).</param>
/// <param name="Key">Its configuration key ("Channels:0") when it was configured; null when created over the API.</param>
public sealed record CatalogChannel(ChannelConfig Config, bool Started, ChannelHandle? Handle, string? Key = null);

/// <summary>
/// Every channel that should exist: the configured ones and those created at runtime. The supervisor
/// creates (and starts) them in each new engine, reads what a dead engine held through their handles,
/// and attaches the new handles. The API's registry implements it to make runtime channels survive.
/// </summary>
public interface IChannelCatalog
{
    /// <summary>The channels in creation order.</summary>
    IReadOnlyList<CatalogChannel> Snapshot();

    /// <summary>
    /// Called by the supervisor: <paramref name="handle"/> is the channel's handle in the current engine,
    /// or null (the engine died, or the channel could not be restored: <paramref name="error"/>).
    /// The supervisor disposes a replaced handle itself, later, so callers that still hold it are safe.
    /// <paramref name="notes"/>, when given, are the degradations the channel runs with in this engine.
    /// </summary>
    void Attach(uint id, ChannelHandle? handle, string? error, IReadOnlyList<string>? notes = null);
}
