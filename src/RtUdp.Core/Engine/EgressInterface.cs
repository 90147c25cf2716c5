using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace RtUdp.Core.Engine;

/// <summary>Finds the interface a channel's packets leave by: the one owning its local address, or the route to its remote.</summary>
public static class EgressInterface
{
    /// <returns>(name, index), or null if no interface owns the address.</returns>
    public static (string Name, int Index)? Find(IPEndPoint local, IPEndPoint? remote)
    {
        IPAddress address = local.Address;
        if ((address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) && remote is not null)
        {
            // Ask the kernel's routing table: a connected UDP socket gets the source address of the route.
            using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(remote);
            address = ((IPEndPoint)probe.LocalEndPoint!).Address;
        }
        foreach (NetworkInterface nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            IPInterfaceProperties properties = nic.GetIPProperties();
            foreach (UnicastIPAddressInformation unicast in properties.UnicastAddresses)
            {
                if (unicast.Address.Equals(address))
                {
                    int index = address.AddressFamily == AddressFamily.InterNetworkV6
                        ? properties.GetIPv6Properties().Index
                        : properties.GetIPv4Properties().Index;
                    return (nic.Name, index);
                }
            }
        }
        if (IPAddress.IsLoopback(address))
        {
            // 127.0.0.0/8 is all lo's, though only 127.0.0.1 is listed as its address.
            NetworkInterface? lo = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.NetworkInterfaceType == NetworkInterfaceType.Loopback);
            if (lo is not null)
            {
                return (lo.Name, lo.GetIPProperties().GetIPv4Properties().Index);
            }
        }
        return null;
    }
}
