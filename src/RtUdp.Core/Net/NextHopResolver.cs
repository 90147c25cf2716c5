using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Net;

/// <summary>Everything the frame builder needs to send from one interface to one destination.</summary>
/// <param name="Destination">The datagrams' destination address.</param>
/// <param name="Route">The kernel's route to it.</param>
/// <param name="Link">The interface the route leaves through.</param>
/// <param name="Source">The source address: the one asked for, else the route's preferred source.</param>
/// <param name="NextHopAddress">The gateway, or the destination when it is on the link.</param>
/// <param name="NextHopMac">The next hop's MAC, from the neighbour table.</param>
/// <param name="NeighbourState">The neighbour entry's NUD_* state when it was read.</param>
public sealed record NextHop(
    IPAddress Destination,
    RouteInfo Route,
    LinkInfo Link,
    IPAddress Source,
    IPAddress NextHopAddress,
    PhysicalAddress NextHopMac,
    ushort NeighbourState)
{
    /// <summary>This interface's MAC (the frames' source).</summary>
    public PhysicalAddress SourceMac => Link.Address!;
}

/// <summary>
/// Finds the next hop of a destination for the xdp data path, which writes Ethernet headers itself: the route
/// (RTM_GETROUTE), the outgoing interface (RTM_GETLINK, ETHTOOL_GCHANNELS) and the next hop's MAC (RTM_GETNEIGH),
/// resolving it when the kernel does not know it yet. Runs in the calling thread's network namespace. Control path:
/// it allocates and blocks (up to the resolution timeout).
/// </summary>
public static class NextHopResolver
{

    /// <summary>How long a missing MAC is waited for by default: ARP's three probes a second apart.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(3);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Resolves the next hop from <paramref name="source"/> (or the route's preferred source) to <paramref name="destination"/>.</summary>
    /// <param name="interfaceName">The interface the channel is bound to; when given, the route must leave through it.</param>
    /// <param name="timeout">How long to wait for an unresolved MAC (default <see cref="DefaultTimeout"/>).</param>
    /// <exception cref="NextHopException">No route, a destination on this host or behind loopback, an interface without a MAC, or a MAC that could not be resolved in time.</exception>
    public static NextHop Resolve(IPAddress destination, IPAddress? source = null, string? interfaceName = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        TimeSpan wait = timeout ?? DefaultTimeout;
        LinkInfo? bound = null;
        if (interfaceName is not null)
        {
            bound = ReadLink(interfaceName);
        }

        RouteInfo route;
        try
        {
            route = RouteLookup.Get(destination, source, bound?.Ifindex ?? 0);
        }
        catch (NativeCallException e)
        {
            throw new NextHopException($"no route to {destination}{On(interfaceName)}: {e.Message}", e);
        }

        LinkInfo link = bound ?? ReadLink(route.OutputIfindex);
        if (route.Type == Libc.RTN_LOCAL || link.Type == Libc.ARPHRD_LOOPBACK)
        {
            throw new NextHopException(
                $"{destination} is {(route.Type == Libc.RTN_LOCAL ? "an address of this host" : "reached through loopback")} (route type {route.TypeName} via {link.Name}): " +
                "xdp needs a remote next hop on a real interface; use the socket data path for local destinations");
        }

        if (route.Type != Libc.RTN_UNICAST)
        {
            throw new NextHopException($"the route to {destination} via {link.Name} is of type {route.TypeName}: xdp needs a unicast route");
        }

        if (bound is not null && route.OutputIfindex != bound.Ifindex)
        {
            throw new NextHopException($"the route to {destination} leaves through ifindex {route.OutputIfindex}, not {bound.Name}");
        }

        if (!link.IsEthernet)
        {
            throw new NextHopException($"{link.Name} is not an Ethernet interface with a MAC (type {link.Type}): xdp builds Ethernet frames");
        }

        IPAddress from = source ?? route.PreferredSource
            ?? throw new NextHopException($"the route to {destination} via {link.Name} names no source address, and none was given");
        IPAddress nextHop = route.NextHop;
        NeighbourEntry neighbour = ResolveMac(nextHop, link, wait);
        return new NextHop(destination, route, link, from, nextHop, neighbour.LinkAddress!, neighbour.State);
    }

    /// <summary>
    /// The MAC of <paramref name="address"/> on <paramref name="link"/>: from the neighbour table when usable, else
    /// after asking the kernel to resolve it, waiting up to <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="NextHopException">Not resolved in time, or the kernel gave up (FAILED).</exception>
    public static NeighbourEntry ResolveMac(IPAddress address, LinkInfo link, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(link);
        NeighbourEntry? entry = NeighbourTable.Get(address, link.Ifindex);
        if (entry is { IsUsable: true })
        {
            return entry;
        }

        // Resolution is started through the neighbour table itself (NTF_USE), not by sending the peer a datagram:
        // it is what the kernel does for a waiting packet (neigh_event_send), it works for ARP and NDP alike, and it
        // leaves no stray packet at the destination. A FAILED entry stays FAILED until something uses it, so it is
        // restarted the same way. (IPv6: with no packet to take a source from, the solicitation goes out from the
        // link-local address, so it waits while that address is still tentative, i.e. for DAD just after link-up.)
        var clock = Stopwatch.StartNew();
        try
        {
            NeighbourTable.Use(address, link.Ifindex);
        }
        catch (NativeCallException use)
        {
            // A kernel that refuses NTF_USE: let its output path resolve the address for a datagram instead.
            try
            {
                SolicitWithDatagram(address, link);
            }
            catch (SocketException send)
            {
                throw new NextHopException(
                    $"could not resolve the MAC of {address} on {link.Name}: starting resolution failed: {use.Message}; a datagram could not be sent either: {send.Message}", use);
            }
        }

        bool sawPending = false;
        while (true)
        {
            entry = NeighbourTable.Get(address, link.Ifindex);
            if (entry is { IsUsable: true })
            {
                return entry;
            }

            ushort state = entry?.State ?? Libc.NUD_NONE;
            sawPending |= (state & (Libc.NUD_INCOMPLETE | Libc.NUD_PROBE)) != 0;
            // FAILED right after the request can be the old entry's state; FAILED after INCOMPLETE is the kernel giving up.
            bool failed = sawPending && (state & Libc.NUD_FAILED) != 0;
            if (failed || clock.Elapsed >= timeout)
            {
                throw new NextHopException(
                    $"could not resolve the MAC of {address} on {link.Name} (neighbour state {NeighbourTable.StateName(state)} after " +
                    $"{clock.Elapsed.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s)");
            }

            Thread.Sleep(PollInterval);
        }
    }

    /// <summary>
    /// The fallback way to start resolution: an empty datagram to the discard port (9) from a normal UDP socket bound
    /// to <paramref name="link"/>. The kernel queues it on the neighbour entry, solicits, and sends it once resolved
    /// (the peer may answer with an ICMP port unreachable, which nothing reads).
    /// </summary>
    /// <exception cref="SocketException">The datagram could not be sent.</exception>
    internal static void SolicitWithDatagram(IPAddress address, LinkInfo link)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.SetRawSocketOption(Tmds.Linux.LibC.SOL_SOCKET, Tmds.Linux.LibC.SO_BINDTODEVICE, Encoding.ASCII.GetBytes(link.Name + "\0"));
        IPAddress target = address.IsIPv6LinkLocal ? new IPAddress(address.GetAddressBytes(), link.Ifindex) : address;
        socket.SendTo([], new IPEndPoint(target, 9));
    }

    private static LinkInfo ReadLink(string name)
    {
        try
        {
            return LinkReader.Get(name);
        }
        catch (NativeCallException e)
        {
            throw new NextHopException($"no interface {name}: {e.Message}", e);
        }
    }

    private static LinkInfo ReadLink(int ifindex)
    {
        try
        {
            return LinkReader.Get(ifindex);
        }
        catch (NativeCallException e)
        {
            throw new NextHopException($"the route's interface {ifindex} cannot be read: {e.Message}", e);
        }
    }

    private static string On(string? interfaceName) => interfaceName is null ? "" : " on " + interfaceName;
}
