using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A plain socket that sends UDP GSO datagrams (UDP_SEGMENT): on loopback the kernel hands such a datagram
/// whole to a receiving socket with UDP_GRO (udp_unexpected_gso), as GRO would have coalesced it, and cuts it
/// into its segments for one without. How the tests make coalesced datagrams without a NIC.
/// </summary>
internal sealed class GsoSender : IDisposable
{
    private readonly Socket _socket;

    public GsoSender(IPEndPoint destination)
    {
        _socket = new Socket(destination.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(new IPEndPoint(destination.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        _socket.Connect(destination);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public Socket Socket => _socket;

    /// <summary>One send of <paramref name="payload"/> cut into <paramref name="segmentSize"/>-byte datagrams (0: one datagram).</summary>
    public void Send(byte[] payload, int segmentSize)
    {
        _socket.SetRawSocketOption(Libc.SOL_UDP, Libc.UDP_SEGMENT, BitConverter.GetBytes(segmentSize));
        Assert.Equal(payload.Length, _socket.Send(payload));
    }

    /// <summary>Bytes where each packet of a train can be told apart: byte j of packet i is (seed + 7i + j) mod 251.</summary>
    public static byte[] Train(int seed, int segmentSize, int length)
    {
        byte[] payload = new byte[length];
        for (int offset = 0; offset < length; offset++)
        {
            int packet = offset / segmentSize;
            payload[offset] = (byte)((seed + (7 * packet) + (offset % segmentSize)) % 251);
        }
        return payload;
    }

    /// <summary>The packets a train is cut into: segmentSize bytes each, the last possibly shorter.</summary>
    public static IEnumerable<byte[]> Segments(byte[] payload, int segmentSize)
    {
        for (int offset = 0; offset < payload.Length; offset += segmentSize)
        {
            yield return payload[offset..Math.Min(payload.Length, offset + segmentSize)];
        }
    }

    public void Dispose() => _socket.Dispose();
}
