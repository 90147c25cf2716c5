using System.Net;
using System.Net.NetworkInformation;
using System.Text.Json;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Two network namespaces ("xsk-a-*", "xsk-b-*") joined by a veth pair, addresses 10.226.N.1/30 and .2/30, and no
/// engine: the AF_XDP tests drive sockets in them directly (<see cref="NetworkNamespace"/>). Nothing touches the root
/// namespace's interfaces. Needs root (else <see cref="SkipReason"/>) and iproute2. Removed in <see cref="Dispose"/>.
/// </summary>
public sealed class XdpNamespacePair : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private readonly List<string> _namespaces = [];
    private readonly string? _ip;

    public XdpNamespacePair()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = "needs root (network namespaces, veth, AF_XDP); CI runs as root";
            return;
        }
        _ip = Tool.Require("ip", "iproute2");
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        NamespaceA = $"xsk-a-{suffix}";
        NamespaceB = $"xsk-b-{suffix}";
        VethA = $"xsk-va-{suffix}";
        VethB = $"xsk-vb-{suffix}";
        AddressA = IPAddress.Parse($"10.226.{subnet}.1");
        AddressB = IPAddress.Parse($"10.226.{subnet}.2");
        try
        {
            Ip("netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Ip("netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Created inside A, so a failure later never leaves a link in the root namespace.
            Ip("-n", NamespaceA, "link", "add", VethA, "type", "veth", "peer", "name", VethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, VethA, AddressA), (NamespaceB, VethB, AddressB) })
            {
                Ip("-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
            }
            (IfIndexA, MacA) = Link(NamespaceA, VethA);
            (_, MacB) = Link(NamespaceB, VethB);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? SkipReason { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    public string VethA { get; } = "";

    public string VethB { get; } = "";

    /// <summary>VethA's ifindex inside namespace A.</summary>
    public int IfIndexA { get; }

    public PhysicalAddress MacA { get; } = PhysicalAddress.None;

    public PhysicalAddress MacB { get; } = PhysicalAddress.None;

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    /// <summary>Runs ip with <paramref name="args"/>; a non-zero exit throws with what it said.</summary>
    public string Ip(params string[] args)
    {
        ProcessResult ip = ProcessRunner.Run(_ip!, args, CommandTimeout);
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({ip.ExitCode}): {ip.Stderr.Trim()}");
        }
        return ip.Stdout;
    }

    private (int IfIndex, PhysicalAddress Mac) Link(string ns, string veth)
    {
        using JsonDocument json = JsonDocument.Parse(Ip("-j", "-n", ns, "link", "show", "dev", veth));
        JsonElement link = json.RootElement[0];
        return (link.GetProperty("ifindex").GetInt32(), PhysicalAddress.Parse(link.GetProperty("address").GetString()!.Replace(':', '-')));
    }

    public void Dispose()
    {
        // Deleting a namespace destroys the veth end inside it, and with it the peer.
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
