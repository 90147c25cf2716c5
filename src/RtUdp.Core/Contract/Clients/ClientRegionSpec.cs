namespace RtUdp.Core.Contract.Clients;

/// <summary>What the daemon writes into a new region's header (<see cref="ClientRegion.CreateMemfd"/>).</summary>
public readonly record struct ClientRegionSpec
{
    public uint ChannelId { get; init; }

    /// <summary>Unique per daemon life.</summary>
    public uint ClientId { get; init; }

    /// <summary><see cref="ClientRegionFlags"/>.</summary>
    public uint Flags { get; init; }

    /// <summary>The channel's max payload: a longer TX record is malformed.</summary>
    public uint MaxPayload { get; init; }

    /// <summary>Bytes, a power of two ≥ 4096; 0: no TX ring (a receive-only attachment).</summary>
    public int TxCapacity { get; init; }

    /// <summary>Bytes, a power of two ≥ 4096; 0: no RX ring.</summary>
    public int RxCapacity { get; init; }

    /// <summary>A due time further ahead than now + this is malformed; 0: no limit.</summary>
    public long HorizonNs { get; init; }
}
