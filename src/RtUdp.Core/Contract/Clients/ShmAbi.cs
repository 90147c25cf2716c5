namespace RtUdp.Core.Contract.Clients;

/// <summary>The broker protocol's constants (docs/shm-clients.md, "Broker protocol"; rtudp.h).</summary>
public static class ShmAbi
{
    /// <summary>RTUDP_ABI_VERSION: bumped whenever a request, a response or a status code changes meaning.</summary>
    public const uint Version = 1;

    /// <summary>"RTDA" read as a little-endian u32: the first word of every request.</summary>
    public const uint RequestMagic = 0x41445452;

    /// <summary>"RTDR" read as a little-endian u32: the first word of every response.</summary>
    public const uint ResponseMagic = 0x52445452;

    public const uint OpAttach = 1;
    public const uint OpDetach = 2;

    /// <summary>RTUDP_ATTACH_SEND: the attachment sends (gets a TX ring).</summary>
    public const uint AttachSend = 1;

    /// <summary>RTUDP_ATTACH_RECEIVE: the attachment receives (gets an RX ring, and every packet of the channel).</summary>
    public const uint AttachReceive = 2;

    /// <summary>RTUDP_SEND_IMMEDIATE: send as soon as possible (the due time is ignored).</summary>
    public const uint SendImmediate = 1;

    /// <summary>A ring size of 0 in a request asks for this (1 MiB).</summary>
    public const uint DefaultRingBytes = 1 << 20;

    /// <summary>Smallest ring: one page.</summary>
    public const uint MinRingBytes = 4096;

    /// <summary>Largest ring a request may ask for (64 MiB): bounds what one client can make the daemon map.</summary>
    public const uint MaxRingBytes = 64u << 20;

    /// <summary>The broker socket's file name, beside the gRPC unix socket.</summary>
    public const string SocketFileName = "rtudp-shm.sock";

    /// <summary>Names the broker socket explicitly (overrides every default).</summary>
    public const string SocketVariable = "RTUDP_SHM_SOCKET";
}
