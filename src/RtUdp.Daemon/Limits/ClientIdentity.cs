using System.Net.Sockets;
using System.Runtime.InteropServices;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;

namespace RtUdp.Daemon.Limits;

/// <summary>
/// Who a call comes from, for the per-client limits: on the unix socket the peer's user (SO_PEERCRED
/// "uid:N", so the processes of one user share a quota); over TLS with a client certificate its subject
/// ("cert:CN=..."); otherwise over TCP the peer's address ("ip:ADDR", the port is not part of it, so new
/// connections do not make a new client).
/// </summary>
public static class ClientIdentity
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static string Of(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        HttpContext http = context.GetHttpContext();
        if (http.Connection.ClientCertificate is { } certificate)
        {
            return "cert:" + certificate.Subject;
        }
        if (http.Connection.RemoteIpAddress is { } address)
        {
            return "ip:" + (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
        }
        if (http.Features.Get<IConnectionSocketFeature>()?.Socket is { AddressFamily: AddressFamily.Unix } socket && PeerUid(socket) is { } uid)
        {
            return "uid:" + uid;
        }
        return "unknown";
    }

    /// <summary>The peer's uid from struct ucred { pid_t pid; uid_t uid; gid_t gid; }; null if the kernel refused.</summary>
    private static uint? PeerUid(Socket socket)
    {
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
            return length >= 8 ? MemoryMarshal.Read<uint>(credentials[4..]) : null;
        }
        catch (SocketException)
        {
            return null;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
    }
}
