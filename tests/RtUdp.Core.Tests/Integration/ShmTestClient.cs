using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A same-host client as the tests play it: the daemon's part (a sealed memfd, handed to the engine with
/// AttachClient) and the client's (its own mapping of the memfd, its ring views).
/// </summary>
internal sealed class ShmTestClient : IDisposable
{
    private static int s_nextClientId = 1000;

    private readonly EngineConnection _engine;
    private readonly SafeFileHandle _memfd;
    private readonly ClientRegion _daemonView;
    private bool _attached;

    public ShmTestClient(EngineConnection engine, ChannelHandle channel, uint flags, ClientAttachLimits limits = default, int txCapacity = 1 << 16, int rxCapacity = 1 << 16)
    {
        _engine = engine;
        ClientId = (uint)Interlocked.Increment(ref s_nextClientId);
        ChannelId = channel.Id;
        var spec = new ClientRegionSpec
        {
            ChannelId = channel.Id,
            ClientId = ClientId,
            Flags = flags,
            MaxPayload = (uint)channel.Config.MaxPayload,
            TxCapacity = (flags & ClientRegionFlags.Send) != 0 ? txCapacity : 0,
            RxCapacity = (flags & ClientRegionFlags.Receive) != 0 ? rxCapacity : 0,
            HorizonNs = 10_000_000_000,
        };
        (_memfd, _daemonView) = ClientRegion.CreateMemfd($"test-client-{ClientId}", spec);
        Region = ClientRegion.Map((int)_memfd.DangerousGetHandle());
        engine.AttachClientAsync(channel.Id, ClientId, _memfd, limits, CancellationToken.None).GetAwaiter().GetResult();
        _attached = true;
        if (Region.Sends)
        {
            Tx = Region.TxWriter();
        }
        if (Region.Receives)
        {
            Rx = Region.RxReader();
        }
    }

    public uint ClientId { get; }

    public uint ChannelId { get; }

    /// <summary>The client's mapping.</summary>
    public ClientRegion Region { get; }

    public ClientTxWriter Tx;

    public ClientRxReader Rx;

    public ulong this[ClientCounter counter] => Region.Counter(counter);

    /// <summary>Records the engine took from the TX ring: accepted + malformed + dropped at detach.</summary>
    public ulong Taken => this[ClientCounter.TxAccepted] + this[ClientCounter.TxMalformed] + this[ClientCounter.TxDroppedDetach];

    public ClientDetachCounts Detach(ClientExitPolicy policy, TimeSpan? drainTimeout = null)
    {
        _attached = false;
        return _engine.DetachClientAsync(ChannelId, ClientId, policy, drainTimeout, CancellationToken.None).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (_attached)
        {
            try
            {
                Detach(ClientExitPolicy.Drop);
            }
            catch (Contract.Control.EngineCommandException)
            {
                // The channel went first (its clients with it).
            }
        }
        Region.Dispose();
        _daemonView.Dispose();
        _memfd.Dispose();
    }
}
