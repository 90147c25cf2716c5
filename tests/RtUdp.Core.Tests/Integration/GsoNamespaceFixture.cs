namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A <see cref="NamespacePair"/> ("gso-a-*", "gso-b-*", 10.235.N.0/30) for GSO trains on a real link: a veth's
/// MTU and TX checksum offload are changed inside namespace A (ethtool). Needs root, iproute2 and ethtool.
/// </summary>
public sealed class GsoNamespaceFixture : NamespacePair
{
    public GsoNamespaceFixture()
        : base("gso", 235, "network namespaces, veth, ethtool")
    {
        if (SkipReason is null)
        {
            Ethtool = Tool.Require("ethtool", "ethtool");
        }
    }

    public string? Ethtool { get; }

    /// <summary>Switches TX checksum offload of A's veth on or off (ethtool -K VETH tx on|off, inside A).</summary>
    public void SetTxChecksum(bool on) => Ip(["netns", "exec", NamespaceA, Ethtool!, "-K", VethA, "tx", on ? "on" : "off"]);

    public void SetMtu(int mtu) => IpInA("link", "set", VethA, "mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
