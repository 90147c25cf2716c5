using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Engine;

/// <summary>Conversion between <see cref="EndpointBlock"/> and the kernel's sockaddr_in / sockaddr_in6 bytes.</summary>
public static unsafe class SocketAddress
{
    /// <summary>Large enough for sockaddr_in6 (28 bytes), rounded up.</summary>
    public const int MaxLength = 32;

    /// <summary>Writes the sockaddr for <paramref name="endpoint"/>; returns its length.</summary>
    public static int Write(in EndpointBlock endpoint, byte* sockaddr)
    {
        new Span<byte>(sockaddr, MaxLength).Clear();
        *(ushort*)sockaddr = endpoint.Family;
        // sin_port / sin6_port are in network byte order.
        sockaddr[2] = (byte)(endpoint.Port >> 8);
        sockaddr[3] = (byte)endpoint.Port;
        if (endpoint.Family == EndpointBlock.FamilyInet)
        {
            for (int i = 0; i < 4; i++)
            {
                sockaddr[4 + i] = endpoint.Address[i];
            }
            return 16;
        }
        for (int i = 0; i < 16; i++)
        {
            sockaddr[8 + i] = endpoint.Address[i];
        }
        *(uint*)(sockaddr + 24) = endpoint.ScopeId;
        return 28;
    }

    public static void Read(byte* sockaddr, ref EndpointBlock endpoint)
    {
        ushort family = *(ushort*)sockaddr;
        endpoint.Family = family;
        endpoint.Port = (ushort)((sockaddr[2] << 8) | sockaddr[3]);
        if (family == EndpointBlock.FamilyInet)
        {
            endpoint.ScopeId = 0;
            for (int i = 0; i < 4; i++)
            {
                endpoint.Address[i] = sockaddr[4 + i];
            }
        }
        else if (family == EndpointBlock.FamilyInet6)
        {
            for (int i = 0; i < 16; i++)
            {
                endpoint.Address[i] = sockaddr[8 + i];
            }
            endpoint.ScopeId = *(uint*)(sockaddr + 24);
        }
    }
}
