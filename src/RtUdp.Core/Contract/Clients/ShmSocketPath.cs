namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// Where the broker listens: <c>rtudp-shm.sock</c> beside rtudpd's gRPC unix socket. A client looks where
/// rtudpctl looks for the gRPC socket (src/RtUdp.Client/DaemonAddress.cs, clients/python address.py).
/// </summary>
public static class ShmSocketPath
{
    /// <summary>Beside the system service's gRPC socket, /run/rtudp/rtudp.sock.</summary>
    public const string SystemSocket = "/run/rtudp/" + ShmAbi.SocketFileName;

    /// <summary>The gRPC socket override rtudpctl and the Python package honour; the broker's socket is beside it.</summary>
    public const string GrpcSocketVariable = "RTUDP_SOCKET";

    /// <summary>The broker socket beside a gRPC unix socket.</summary>
    public static string Beside(string grpcSocketPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(grpcSocketPath)) ?? "/", ShmAbi.SocketFileName);

    /// <summary>
    /// In the order a client looks: $RTUDP_SHM_SOCKET alone when set; else beside $RTUDP_SOCKET when that is set;
    /// else for root the system service's socket first, then this user's ($XDG_RUNTIME_DIR/rtudp/, or
    /// /tmp/rtudp-$USER/), and for other users the system socket last.
    /// </summary>
    public static IReadOnlyList<string> DefaultCandidates()
    {
        string? explicitPath = Environment.GetEnvironmentVariable(ShmAbi.SocketVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return [explicitPath];
        }
        string? grpc = Environment.GetEnvironmentVariable(GrpcSocketVariable);
        if (!string.IsNullOrEmpty(grpc))
        {
            return [Beside(grpc)];
        }
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        string user = string.IsNullOrEmpty(xdg)
            ? Path.Combine("/tmp", $"rtudp-{Environment.UserName}", ShmAbi.SocketFileName)
            : Path.Combine(xdg, "rtudp", ShmAbi.SocketFileName);
        return Tmds.Linux.LibC.geteuid() == 0 ? [SystemSocket, user] : [user, SystemSocket];
    }

    /// <summary>The first existing candidate, else the first (so an error names where rtudpd was expected).</summary>
    public static string Default()
    {
        IReadOnlyList<string> candidates = DefaultCandidates();
        foreach (string candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return candidates[0];
    }
}
