using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.Flows;

/// <summary>
/// A <see cref="NamespacePair"/> ("flw-a-*", "flw-b-*", 10.232.N.0/30) for flows that cross a real link, with
/// nft (nftables: the kernel here has no tc drop action, so loss is injected by an nftables rule in A).
/// </summary>
public sealed class FlowNamespaceFixture : NamespacePair
{
    public FlowNamespaceFixture()
        : base("flw", 232, "network namespaces, veth, nftables")
    {
        if (SkipReason is null)
        {
            try
            {
                Nft = Tool.Require("nft", "nftables");
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    public string? Nft { get; }

    /// <summary>Runs nft inside namespace A (its rules die with the namespace).</summary>
    public string NftInA(params string[] args) => Ip(["netns", "exec", NamespaceA, Nft!, .. args]);
}
