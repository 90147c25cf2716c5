using System.Diagnostics;
using System.Net;
using RtUdp.Core.Tests.Integration;
using RtUdp.Testing;

namespace RtUdp.Core.Tests.Flows;

/// <summary>
/// Two network namespaces ("flw-a-*", "flw-b-*") joined by a veth pair, each with its own engine, for
/// flows that cross a real link: addresses 10.232.N.1/30 and .2/30 exist only inside the namespaces.
/// Needs root, iproute2 and nft (nftables: the kernel here has no tc drop action, so loss is
/// injected by an nftables rule). Without root <see cref="SkipReason"/> says why; a missing tool fails, naming its package. Everything created is
/// removed in <see cref="Dispose"/>, also when set-up fails half way.
/// </summary>
public sealed class FlowNamespaceFixture : IDisposable
{
        private readonly List<string> _namespaces = [];

    public FlowNamespaceFixture()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = "needs root (network namespaces, veth, nftables); CI runs as root";
            return;
        }
        Ip = Tool.Require("ip", "iproute2");
        Nft = Tool.Require("nft", "nftables");
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        NamespaceA = $"flw-a-{suffix}";
        NamespaceB = $"flw-b-{suffix}";
        string vethA = $"flw-va-{suffix}";
        string vethB = $"flw-vb-{suffix}";
        AddressA = IPAddress.Parse($"10.232.{subnet}.1");
        AddressB = IPAddress.Parse($"10.232.{subnet}.2");
        try
        {
            Tool.Run(Ip, "netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Tool.Run(Ip, "netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Created inside A, so a failure later never leaves a link in the root namespace.
            Tool.Run(Ip, "-n", NamespaceA, "link", "add", vethA, "type", "veth", "peer", "name", vethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, vethA, AddressA), (NamespaceB, vethB, AddressB) })
            {
                Tool.Run(Ip, "-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                Tool.Run(Ip, "-n", ns, "link", "set", "lo", "up");
                Tool.Run(Ip, "-n", ns, "link", "set", veth, "up");
            }
            EngineA = EngineFixture.StartWrapped([Ip, "netns", "exec", NamespaceA]);
            EngineB = EngineFixture.StartWrapped([Ip, "netns", "exec", NamespaceB]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? SkipReason { get; }

    public string? Ip { get; }

    public string? Nft { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    public EngineFixture? EngineA { get; private set; }

    public EngineFixture? EngineB { get; private set; }

    /// <summary>Runs nft inside namespace A (its rules die with the namespace).</summary>
    public string NftInA(params string[] args) => Tool.Run(Ip!, ["netns", "exec", NamespaceA, Nft!, .. args]);

    public void Dispose()
    {
        EngineA?.Dispose();
        EngineA = null;
        EngineB?.Dispose();
        EngineB = null;
        // Deleting a namespace destroys the veth end inside it, and with it the peer.
        foreach (string ns in _namespaces)
        {
            try
            {
                Tool.Run(Ip!, "netns", "del", ns);
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
        }
        _namespaces.Clear();
    }
}
