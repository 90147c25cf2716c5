using System.Net;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.NetworkErrors;

/// <summary>
/// A <see cref="NamespacePair"/> ("npt-a-*", "npt-b-*", 10.234.N.0/30) for network errors on a real path. Both
/// namespaces answer every packet with an ICMP error (no rate limit: icmp_ratelimit 0, icmp_msgs_per_sec and
/// icmp_msgs_burst high; these sysctls are per namespace), and A gives up resolving a neighbour after 3 probes
/// 100 ms apart (its veth's neigh retrans_time_ms) instead of 3 s. A holds an on-link route to
/// <see cref="Nowhere"/>'s /24, where no host answers ARP. Needs root, iproute2 and sysctl (procps).
/// </summary>
public sealed class NetworkPathFixture : NamespacePair
{
    /// <summary>How long A waits for each ARP answer (its veth's neigh retrans_time_ms).</summary>
    public const int ArpRetransMs = 100;

    /// <summary>How many ARP requests A sends before it gives a neighbour up (mcast_solicit).</summary>
    public const int ArpProbes = 3;

    public NetworkPathFixture()
        : base("npt", 234, "network namespaces, veth, per-namespace sysctls and routes")
    {
        if (SkipReason is not null)
        {
            return;
        }
        try
        {
            Sysctl = Tool.Require("sysctl", "procps");
            foreach (string ns in new[] { NamespaceA, NamespaceB })
            {
                SysctlIn(ns, "net.ipv4.icmp_ratelimit", "0");
                SysctlIn(ns, "net.ipv4.icmp_msgs_per_sec", "1000000");
                SysctlIn(ns, "net.ipv4.icmp_msgs_burst", "1000000");
            }
            SysctlIn(NamespaceA, $"net.ipv4.neigh.{VethA}.retrans_time_ms", ArpRetransMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
            SysctlIn(NamespaceA, $"net.ipv4.neigh.{VethA}.mcast_solicit", ArpProbes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            SysctlIn(NamespaceA, $"net.ipv4.neigh.{VethA}.app_solicit", "0");
            // 10.234.N+1.0/24: on the link as far as A knows, but nobody there answers ARP.
            Nowhere = IPAddress.Parse($"10.234.{Subnet + 1}.7");
            IpInA("route", "add", $"10.234.{Subnet + 1}.0/24", "dev", VethA);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? Sysctl { get; }

    /// <summary>An address A routes out of its veth, which no host has: its neighbour resolution fails.</summary>
    public IPAddress Nowhere { get; } = IPAddress.None;

    /// <summary>Sets a sysctl inside namespace <paramref name="ns"/> (per-namespace keys only: they die with it).</summary>
    public string SysctlIn(string ns, string key, string value) => Ip(["netns", "exec", ns, Sysctl!, "-w", $"{key}={value}"]);

    /// <summary>Reads a sysctl inside namespace <paramref name="ns"/>.</summary>
    public string SysctlRead(string ns, string key) => Ip(["netns", "exec", ns, Sysctl!, "-n", key]).Trim();
}
