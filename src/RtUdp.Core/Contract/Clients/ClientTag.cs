namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The TX record tag (Channels.TxPacketHeader.ClientTag, echoed in reports) of a same-host client's packets: bit 30
/// set over the client id, far above the small tags rtudpd gives its gRPC clients (1, 2, 3...).
/// </summary>
public static class ClientTag
{
    public const int ShmBit = 0x4000_0000;

    public static int Of(uint clientId) => ShmBit | (int)(clientId & 0x3fff_ffff);

    public static bool IsShm(int tag) => (tag & ShmBit) != 0;
}
