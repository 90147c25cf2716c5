namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// Which packet ids a client may choose: 0 (none: over gRPC rtudpd assigns one) or 1 to 2^62 - 1. Ids from
/// 2^62 up are the ones rtudpd assigns, so a client's own never collide with them. One definition for the
/// gRPC API (the daemon's PacketIds) and the same-host path (the engine's client intake).
/// </summary>
public static class PacketIdRule
{
    /// <summary>The first id rtudpd assigns.</summary>
    public const long FirstAssigned = 1L << 62;

    public static bool IsClientChoice(long packetId) => packetId is >= 0 and < FirstAssigned;

    public const string Requirement = "must be 0 (rtudpd assigns one) or 1 to 2^62 - 1";
}
