using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>
/// A channel's UDP socket: non-blocking (the workers never block in the kernel), bound to the local
/// endpoint, connected to the remote one when there is one, with kernel RX timestamps on.
/// </summary>
public sealed unsafe class UdpSocket : IDisposable
{
    private int _fd;

    private UdpSocket(int fd, EndpointBlock bound, int sendBuffer, int receiveBuffer)
    {
        _fd = fd;
        BoundLocal = bound;
        SendBufferBytes = sendBuffer;
        ReceiveBufferBytes = receiveBuffer;
    }

    public int Fd => _fd;

    /// <summary>The local endpoint as bound (the kernel's choice of port when 0 was asked).</summary>
    public EndpointBlock BoundLocal { get; }

    public bool IsConnected { get; private init; }

    /// <summary>An AF_INET6 socket (its path MTU and errors are IPv6's).</summary>
    public bool IsInet6 { get; private init; }

    /// <summary>SO_TIMESTAMPING flags set on the socket (0: none).</summary>
    public int TimestampingFlags { get; private init; }

    /// <summary>SO_SNDBUF as the kernel applied it (it doubles the request and caps it at wmem_max).</summary>
    public int SendBufferBytes { get; }

    public int ReceiveBufferBytes { get; }

    public static UdpSocket Open(in ChannelConfigBlock config, int timestampingFlags)
    {
        EndpointBlock local = config.Local;
        EndpointBlock remote = config.Remote;
        int domain = local.Family == EndpointBlock.FamilyInet6 ? AF_INET6 : AF_INET;
        int fd = Errno.Check(socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP), "socket");
        try
        {
            if (config.SocketBufferBytes > 0)
            {
                int size = config.SocketBufferBytes;
                Errno.Check(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(int)), "setsockopt(SO_SNDBUF)");
                Errno.Check(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int)), "setsockopt(SO_RCVBUF)");
            }

            if ((ChannelDirection)config.Direction is ChannelDirection.Receive or ChannelDirection.Duplex)
            {
                // Each datagram read carries the socket's drop count: the receive worker counts what the kernel dropped.
                int on = 1;
                Errno.Check(setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(int)), "setsockopt(SO_RXQ_OVFL)");
            }

            if (timestampingFlags != 0)
            {
                SocketTimestamping.Set(fd, timestampingFlags);
            }

            if ((ChannelDirection)config.Direction is ChannelDirection.Send or ChannelDirection.Duplex)
            {
                SetSendErrorOptions(fd, domain, ((ChannelFlags)config.Flags).HasFlag(ChannelFlags.DontFragment));
            }

            byte* address = stackalloc byte[SocketAddress.MaxLength];
            int length = SocketAddress.Write(local, address);
            if (bind(fd, (sockaddr*)address, (socklen_t)length) == -1)
            {
                throw EndpointRefused(errno, "local", $"bind({local})", local);
            }

            bool connected = false;
            if (remote.IsSpecified && remote.Port != 0)
            {
                length = SocketAddress.Write(remote, address);
                if (connect(fd, (sockaddr*)address, (socklen_t)length) == -1)
                {
                    throw EndpointRefused(errno, "remote", $"connect({remote})", remote);
                }
                connected = true;
            }

            socklen_t addressLength = SocketAddress.MaxLength;
            Errno.Check(getsockname(fd, (sockaddr*)address, &addressLength), "getsockname");
            EndpointBlock bound = default;
            SocketAddress.Read(address, ref bound);

            return new UdpSocket(fd, bound, GetInt(fd, SO_SNDBUF), GetInt(fd, SO_RCVBUF)) { IsConnected = connected, TimestampingFlags = timestampingFlags, IsInet6 = domain == AF_INET6 };
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    }

    /// <summary>
    /// A bind or connect the host refuses, as the channel field it is about, with what the host offers instead:
    /// its addresses of that family for an address it does not have, the fact that it has no route for one it
    /// cannot reach.
    /// </summary>
    private static EngineCommandException EndpointRefused(int error, string field, string call, in EndpointBlock endpoint)
    {
        string hint = error switch
        {
            Errno.EADDRNOTAVAIL => $": this host has no address {endpoint.ToIPEndPoint()?.Address}; its addresses: {HostAddresses(endpoint.Family)}",
            Errno.EADDRINUSE => ": the port is taken by another socket on this host",
            Errno.ENETUNREACH or Errno.EHOSTUNREACH => ": this host has no route to it",
            Errno.EACCES or Errno.EPERM => ": not permitted (a port below 1024 needs CAP_NET_BIND_SERVICE; a broadcast address is refused)",
            _ => "",
        };
        EngineStatus status = error switch
        {
            Errno.EADDRINUSE => EngineStatus.AlreadyExists,
            Errno.EACCES or Errno.EPERM => EngineStatus.PermissionDenied,
            Errno.ENETUNREACH or Errno.EHOSTUNREACH => EngineStatus.FailedPrecondition,
            _ => EngineStatus.InvalidArgument,
        };
        return new EngineCommandException(status, $"{call} failed: {Errno.Describe(error)}{hint}", field);
    }

    /// <summary>The host's addresses of the family, for a message (never on a packet path).</summary>
    private static string HostAddresses(ushort family)
    {
        System.Net.Sockets.AddressFamily wanted = family == EndpointBlock.FamilyInet6
            ? System.Net.Sockets.AddressFamily.InterNetworkV6
            : System.Net.Sockets.AddressFamily.InterNetwork;
        try
        {
            string[] addresses = [.. System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Where(a => a.Address.AddressFamily == wanted)
                .Select(a => a.Address.ToString())
                .Distinct()];
            return addresses.Length == 0 ? "none" : string.Join(", ", addresses);
        }
        catch (System.Net.NetworkInformation.NetworkInformationException e)
        {
            return $"unknown ({e.Message})";
        }
    }

    /// <summary>
    /// IP_RECVERR: every ICMP error for a datagram sent is queued on the error queue with the head of that
    /// datagram, so the send worker can tell which packet the peer refused (and the kernel's pending error,
    /// reported by the next send, is taken off by reading it). With <paramref name="dontFragment"/>, DF on
    /// every datagram: one larger than the path MTU fails with EMSGSIZE instead of leaving in fragments.
    /// </summary>
    private static void SetSendErrorOptions(int fd, int domain, bool dontFragment)
    {
        int on = 1;
        if (domain == AF_INET6)
        {
            Errno.Check(setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(int)), "setsockopt(IPV6_RECVERR)");
            if (dontFragment)
            {
                int discover = IPV6_PMTUDISC_DO;
                Errno.Check(setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &discover, sizeof(int)), "setsockopt(IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)");
            }
            return;
        }
        Errno.Check(setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(int)), "setsockopt(IP_RECVERR)");
        if (dontFragment)
        {
            int discover = IP_PMTUDISC_DO;
            Errno.Check(setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &discover, sizeof(int)), "setsockopt(IP_MTU_DISCOVER, IP_PMTUDISC_DO)");
        }
    }

    /// <summary>The path MTU of the connected socket (IP_MTU / IPV6_MTU); 0 when the kernel cannot say (not connected).</summary>
    public static int PathMtu(int fd, bool inet6)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        int result = inet6
            ? getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &value, &length)
            : getsockopt(fd, IPPROTO_IP, IP_MTU, &value, &length);
        return result == 0 ? value : 0;
    }

    private static int GetInt(int fd, int option)
    {
        int value = 0;
        socklen_t length = sizeof(int);
        Errno.Check(getsockopt(fd, SOL_SOCKET, option, &value, &length), "getsockopt");
        return value;
    }

    public void Dispose()
    {
        if (_fd > 0)
        {
            _ = close(_fd);
            _fd = -1;
        }
    }
}
