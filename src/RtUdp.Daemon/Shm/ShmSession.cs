using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Shm;

/// <summary>
/// One same-host client's attachment as the daemon holds it: the region (mapped here too, to write its state),
/// the memfd (kept to hand it to a restarted engine), the channel and the peer. Transitions (attach, reattach,
/// detach) are serialised by <see cref="Gate"/>.
/// </summary>
internal sealed unsafe class ShmSession(int connection, uint clientId, ChannelEntry channel, ShmPeer peer, uint flags, SafeFileHandle memfd, ClientRegion region, ClientAttachLimits limits) : IDisposable
{
    private int _ended;
    private bool _closed;

    /// <summary>The broker connection (its thread owns and closes it; others only shut it down to wake that thread).</summary>
    public int Connection { get; } = connection;

    public uint ClientId { get; } = clientId;

    public ChannelEntry Channel { get; } = channel;

    public ShmPeer Peer { get; } = peer;

    /// <summary>ClientRegionFlags: bit 0 sends, bit 1 receives.</summary>
    public uint Flags { get; } = flags;

    public bool Receives => (Flags & ShmAbi.AttachReceive) != 0;

    public SafeFileHandle Memfd { get; } = memfd;

    public ClientRegion Region { get; } = region;

    public ClientAttachLimits Limits { get; } = limits;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Set while the attachment is in a running engine (reset when it dies, set again by the reattach or the end).</summary>
    public ManualResetEventSlim Reattached { get; } = new(initialState: true);

    /// <summary>The engine the region is attached in; null between that engine's death and the reattach, and once ended.</summary>
    public Core.EngineLink.EngineConnection? AttachedTo { get; set; }

    public bool InEngine => AttachedTo is not null;

    /// <summary>Set once: the session is over (detached, or ended by the daemon); the connection's thread cleans up.</summary>
    public bool Ended => Volatile.Read(ref _ended) != 0;

    /// <summary>Marks the session over; true for the first caller only.</summary>
    public bool End() => Interlocked.Exchange(ref _ended, 1) == 0;

    /// <summary>"client 7 (pid 1234, uid 1000) on channels/tx".</summary>
    public string Description => $"client {ClientId} ({Peer.Description}) on {Channel.Name}";

    /// <summary>
    /// Writes the state the client sees, then rings the RX doorbell so a client asleep in receive wakes and
    /// reads it (a detach must not leave it waiting out its timeout).
    /// </summary>
    public void Publish(ClientState state, ShmStatus status, string message)
    {
        Region.SetState(state, status, message);
        Region.ReceiveWait.ForceWake();
    }

    /// <summary>
    /// Wakes the connection's thread (its poll sees EOF) so it closes the connection. Under the gate, and never after
    /// <see cref="Dispose"/>: the thread closes the descriptor only after that, so the number is never another's.
    /// </summary>
    public void ShutdownConnection()
    {
        Gate.Wait();
        try
        {
            if (!_closed)
            {
                _ = Tmds.Linux.LibC.shutdown(Connection, Tmds.Linux.LibC.SHUT_RDWR);
            }
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>
    /// Unmaps the region, under the gate: whoever holds a snapshot of the sessions (a restart, a deletion, the stop)
    /// takes the gate and finds the session ended before it touches the region. The gate and the event stay usable
    /// for them (neither holds a kernel handle: no wait handle is ever asked of them).
    /// </summary>
    public void Dispose()
    {
        Gate.Wait();
        try
        {
            _closed = true;
            Region.Dispose();
            Memfd.Dispose();
        }
        finally
        {
            Gate.Release();
        }
    }
}
