using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Net;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Two network namespaces joined by a veth pair for the xdp network tests: A (10.241.S.1/24, fd41:S::1/64) and B
/// (.2, ::2), a route in A to 10.242.S.0/24 and fd42:S::/64 through B (a gateway to resolve), and B's transmit
/// checksum offload off so that B's datagrams leave with whole checksums (veth would otherwise hand A a partial one).
/// Nothing routes out of the namespaces. Needs root (else <see cref="SkipReason"/>) and iproute2.
/// </summary>
public sealed class XdpNamespaceFixture : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private readonly List<string> _namespaces = [];

    public XdpNamespaceFixture()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = "needs root (network namespaces, veth, AF_PACKET); CI runs as root";
            return;
        }

        IpPath = Tool.Require("ip", "iproute2");
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        Subnet = Random.Shared.Next(0, 256);
        string s = Subnet.ToString(CultureInfo.InvariantCulture);
        NamespaceA = $"xdpn-a-{suffix}";
        NamespaceB = $"xdpn-b-{suffix}";
        VethA = $"xdpn-va-{suffix}";
        VethB = $"xdpn-vb-{suffix}";
        AddressA = IPAddress.Parse($"10.241.{s}.1");
        AddressB = IPAddress.Parse($"10.241.{s}.2");
        Address6A = IPAddress.Parse($"fd41:{Subnet:x}::1");
        Address6B = IPAddress.Parse($"fd41:{Subnet:x}::2");
        Silent = IPAddress.Parse($"10.241.{s}.99");
        Silent6 = IPAddress.Parse($"fd41:{Subnet:x}::99");
        BehindGateway = IPAddress.Parse($"10.242.{s}.7");
        BehindGateway6 = IPAddress.Parse($"fd42:{Subnet:x}::7");
        try
        {
            Ip("netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Ip("netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            Ip("-n", NamespaceA, "link", "add", VethA, "type", "veth", "peer", "name", VethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress v4, IPAddress v6) in new[] { (NamespaceA, VethA, AddressA, Address6A), (NamespaceB, VethB, AddressB, Address6B) })
            {
                // No duplicate address detection on the link-local address either: NTF_USE resolution has no packet to
                // take a source from, so IPv6 solicits from the link-local address, which is unusable while tentative.
                NetnsThread.Run(ns, () => File.WriteAllText($"/proc/sys/net/ipv6/conf/{veth}/accept_dad", "0"));
                Ip("-n", ns, "addr", "add", $"{v4}/24", "dev", veth);
                Ip("-n", ns, "addr", "add", $"{v6}/64", "dev", veth, "nodad");
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
            }

            Ip("-n", NamespaceA, "route", "add", $"10.242.{s}.0/24", "via", AddressB.ToString());
            Ip("-n", NamespaceA, "-6", "route", "add", $"fd42:{Subnet:x}::/64", "via", Address6B.ToString());
            NetnsThread.Run(NamespaceB, () => Assert.Equal(0, InterfaceChecksum.SetTx(VethB, false)));
            (IfindexA, MacA) = NetnsThread.Run(NamespaceA, () => Link(VethA));
            (IfindexB, MacB) = NetnsThread.Run(NamespaceB, () => Link(VethB));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Why the tests cannot run here; null when they can.</summary>
    public string? SkipReason { get; }

    public string? IpPath { get; }

    public int Subnet { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    public string VethA { get; } = "";

    public string VethB { get; } = "";

    public int IfindexA { get; }

    public int IfindexB { get; }

    public PhysicalAddress MacA { get; } = PhysicalAddress.None;

    public PhysicalAddress MacB { get; } = PhysicalAddress.None;

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    public IPAddress Address6A { get; } = IPAddress.IPv6None;

    public IPAddress Address6B { get; } = IPAddress.IPv6None;

    /// <summary>On A's link, with no host behind it.</summary>
    public IPAddress Silent { get; } = IPAddress.None;

    /// <inheritdoc cref="Silent"/>
    public IPAddress Silent6 { get; } = IPAddress.IPv6None;

    /// <summary>Routed from A through B.</summary>
    public IPAddress BehindGateway { get; } = IPAddress.None;

    /// <inheritdoc cref="BehindGateway"/>
    public IPAddress BehindGateway6 { get; } = IPAddress.IPv6None;

    /// <summary>Runs ip with <paramref name="args"/>; a non-zero exit throws with what it said.</summary>
    public string Ip(params string[] args)
    {
        ProcessResult ip = ProcessRunner.Run(IpPath!, args, CommandTimeout);
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({ip.ExitCode}): {ip.Stderr.Trim()}");
        }
        return ip.Stdout;
    }

    /// <summary>Empties A's neighbour table on its veth (both families).</summary>
    public void FlushNeighboursA()
    {
        Ip("-n", NamespaceA, "neigh", "flush", "dev", VethA);
        Ip("-n", NamespaceA, "-6", "neigh", "flush", "dev", VethA);
    }

    /// <summary>B's UDP InCsumErrors: "Udp:" of /proc/net/snmp (IPv4) or Udp6InCsumErrors of /proc/net/snmp6, read inside B.</summary>
    public long UdpChecksumErrorsB(bool ipv6) => NetnsThread.Run(NamespaceB, () =>
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

    private static (int, PhysicalAddress) Link(string name)
    {
        LinkInfo link = LinkReader.Get(name);
        return (link.Ifindex, link.Address!);
    }

    public void Dispose()
    {
        foreach (string ns in _namespaces)
        {
            try
            {
                Ip("netns", "del", ns);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
        }
        _namespaces.Clear();
    }
}
