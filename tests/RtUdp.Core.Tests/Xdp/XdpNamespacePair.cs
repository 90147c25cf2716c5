using System.Globalization;
using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The xdp tests' <see cref="VethNamespacePair"/>, without engines: the tests drive sockets, the steering program
/// and the resolver in the namespaces themselves (<see cref="VethNamespacePair.InA{T}(Func{T})"/>). Besides the pair's
/// 10.OCTET.N.1/30 and .2/30 and fd00:OCTET:N::1/64 and ::2: A routes 10.OCTET.N+1.0/24 onto its link, where nobody
/// answers (<see cref="Silent"/>; <see cref="Silent6"/> is in the link's /64), and 10.OCTET.N+2.0/24 and
/// fd00:OCTET:N+2::/64 through B (a gateway to resolve: <see cref="BehindGateway"/>); B's transmit checksum offload is
/// off, so that B's datagrams leave with whole checksums (veth would otherwise hand A a partial one, which AF_XDP and
/// a raw socket see as it is). Each test class has its own subclass: its own names and range.
/// </summary>
public abstract class XdpNamespacePair : VethNamespacePair
{
    /// <inheritdoc cref="VethNamespacePair(string, int, string, int, bool)"/>
    protected XdpNamespacePair(string prefix, int secondOctet, string needs, int queues = 1)
        : base(prefix, secondOctet, needs, queues, ipv6: true)
    {
        if (SkipReason is not null)
        {
            return;
        }
        string silent = $"10.{secondOctet}.{Subnet + 1}";
        string routed = $"10.{secondOctet}.{Subnet + 2}";
        string routed6 = $"fd00:{secondOctet}:{Subnet + 2:x}";
        Silent = IPAddress.Parse($"{silent}.99");
        Silent6 = IPAddress.Parse($"fd00:{secondOctet}:{Subnet:x}::99");
        BehindGateway = IPAddress.Parse($"{routed}.7");
        BehindGateway6 = IPAddress.Parse($"{routed6}::7");
        try
        {
            IpInA("route", "add", $"{silent}.0/24", "dev", VethA);
            IpInA("route", "add", $"{routed}.0/24", "via", AddressB.ToString());
            IpInA("-6", "route", "add", $"{routed6}::/64", "via", Address6B.ToString());
            InB(() => Assert.Equal(0, InterfaceChecksum.SetTx(VethB, false)));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>On A's link, with no host behind it.</summary>
    public IPAddress Silent { get; } = IPAddress.None;

    /// <inheritdoc cref="Silent"/>
    public IPAddress Silent6 { get; } = IPAddress.IPv6None;

    /// <summary>Routed from A through B.</summary>
    public IPAddress BehindGateway { get; } = IPAddress.None;

    /// <inheritdoc cref="BehindGateway"/>
    public IPAddress BehindGateway6 { get; } = IPAddress.IPv6None;

    /// <summary>A UDP socket made in A, bound to A's address (<paramref name="ipv6"/>: A's IPv6 one) and a free port.</summary>
    public Socket UdpInA(bool ipv6 = false, int receiveTimeoutMs = 5000) => InA(() => Udp(ipv6 ? Address6A : AddressA, receiveTimeoutMs));

    /// <summary>A UDP socket made in B, bound to B's address (<paramref name="ipv6"/>: B's IPv6 one) and a free port.</summary>
    public Socket UdpInB(bool ipv6 = false, int receiveTimeoutMs = 5000) => InB(() => Udp(ipv6 ? Address6B : AddressB, receiveTimeoutMs));

    /// <summary>
    /// Whether datagrams from B reach <paramref name="receiver"/> in A: sends one at a time (with its number) until one
    /// arrives, for up to 10 s (the first may wait on neighbour resolution). The receiver's timeout paces the sends.
    /// </summary>
    public bool Reaches(Socket receiver, TimeSpan? within = null)
    {
        using Socket sender = UdpInB(receiver.AddressFamily == AddressFamily.InterNetworkV6);
        var target = (IPEndPoint)receiver.LocalEndPoint!;
        byte[] buffer = new byte[64];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan limit = within ?? TimeSpan.FromSeconds(10);
        for (int i = 0; clock.Elapsed < limit; i++)
        {
            sender.SendTo(BitConverter.GetBytes(i), target);
            try
            {
                if (receiver.Receive(buffer) == 4)
                {
                    return true;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
        }
        return false;
    }

    /// <summary>Empties A's neighbour table on its veth (both families).</summary>
    public void FlushNeighboursA()
    {
        IpInA("neigh", "flush", "dev", VethA);
        IpInA("-6", "neigh", "flush", "dev", VethA);
    }

    /// <summary>B's UDP InCsumErrors: "Udp:" of /proc/net/snmp (IPv4) or Udp6InCsumErrors of /proc/net/snmp6, read inside B.</summary>
    public long UdpChecksumErrorsB(bool ipv6) => InB(() =>
    {
        if (ipv6)
        {
            string line = File.ReadAllLines("/proc/thread-self/net/snmp6").Single(l => l.StartsWith("Udp6InCsumErrors", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }

        string[] udp = [.. File.ReadAllLines("/proc/thread-self/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal))];
        string[] names = udp[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] values = udp[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(values[Array.IndexOf(names, "InCsumErrors")], CultureInfo.InvariantCulture);
    });

    private static Socket Udp(IPAddress address, int receiveTimeoutMs)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = receiveTimeoutMs };
        try
        {
            socket.Bind(new IPEndPoint(address, 0));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }
}

/// <summary>The frame and neighbour tests' pair (<see cref="XdpNamespaceTests"/>): "xdpn-*", 10.241.N.0/30.</summary>
public sealed class XdpNetworkPair() : XdpNamespacePair("xdpn", 241, "network namespaces, veth, AF_PACKET");

/// <summary>The AF_XDP socket tests' pair (<see cref="XskSocketTests"/>): "xsk-*", 10.226.N.0/30, one queue per end.</summary>
public sealed class XskNamespacePair() : XdpNamespacePair("xsk", 226, "network namespaces, veth, AF_XDP, XDP programs");
