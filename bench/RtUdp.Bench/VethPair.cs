using System.Net;

namespace RtUdp.Bench;

/// <summary>
/// Two network namespaces joined by a veth pair, for the trains part: <c>rtudp-bench-a</c> (10.239.0.1/30 on
/// rtbench-va) and <c>rtudp-bench-b</c> (10.239.0.2/30 on rtbench-vb), with loopback up in each. Neither has any
/// other route, so nothing leaves them. The names are fixed so that what an interrupted run left behind is found
/// and removed before the pair is made again; <see cref="Dispose"/> removes everything, also after a failed set-up.
/// Needs root and iproute2's ip.
/// </summary>
internal sealed class VethPair : IDisposable
{
    public const string NamespaceA = "rtudp-bench-a";
    public const string NamespaceB = "rtudp-bench-b";
    public const string VethA = "rtbench-va";
    public const string VethB = "rtbench-vb";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    private readonly string _ip;

    public static IPAddress AddressA { get; } = IPAddress.Parse("10.239.0.1");

    public static IPAddress AddressB { get; } = IPAddress.Parse("10.239.0.2");

    /// <summary>Runs a program inside namespace A (the sender's side): <c>ip netns exec rtudp-bench-a</c>.</summary>
    public IReadOnlyList<string> InA => [_ip, "netns", "exec", NamespaceA];

    /// <summary>Runs a program inside namespace B (the receiver's side).</summary>
    public IReadOnlyList<string> InB => [_ip, "netns", "exec", NamespaceB];

    private VethPair(string ip) => _ip = ip;

    /// <summary>Makes the pair, or says why it cannot (null, with <paramref name="problem"/>).</summary>
    public static VethPair? Create(out string problem)
    {
        problem = "";
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            problem = "needs root (network namespaces)";
            return null;
        }
        string? ip = Util.Which("ip");
        if (ip is null)
        {
            problem = "ip not installed (iproute2)";
            return null;
        }
        var pair = new VethPair(ip);
        try
        {
            pair.RemoveLeftovers();
            pair.Ip("netns", "add", NamespaceA);
            pair.Ip("netns", "add", NamespaceB);
            // Made inside A with its peer moved to B: a failure half way never leaves a link in the root namespace.
            pair.Ip("-n", NamespaceA, "link", "add", VethA, "type", "veth", "peer", "name", VethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, VethA, AddressA), (NamespaceB, VethB, AddressB) })
            {
                pair.Ip("-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                pair.Ip("-n", ns, "link", "set", "lo", "up");
                pair.Ip("-n", ns, "link", "set", veth, "up");
            }
            return pair;
        }
        catch (InvalidOperationException e)
        {
            pair.Dispose();
            problem = e.Message;
            return null;
        }
    }

    /// <summary>The veth's offloads that decide what crosses it as one skb (ethtool -k), for the table.</summary>
    public string Offloads()
    {
        string? ethtool = Util.Which("ethtool");
        if (ethtool is null)
        {
            return "ethtool not installed";
        }
        string? output = Util.Run(_ip, ["netns", "exec", NamespaceB, ethtool, "-k", VethB], CommandTimeout, out string error);
        if (output is null)
        {
            return "ethtool -k failed: " + error;
        }
        string[] wanted = ["tx-checksumming", "tx-udp-segmentation", "generic-receive-offload", "rx-udp-gro-forwarding"];
        return string.Join(", ", output.Split('\n').Select(l => l.Trim()).Where(l => wanted.Any(w => l.StartsWith(w + ":", StringComparison.Ordinal))));
    }

    /// <summary>Namespaces of an interrupted run: deleting one destroys the veth end inside it, and with it the peer.</summary>
    private void RemoveLeftovers()
    {
        string list = Ip("netns", "list");
        foreach (string ns in new[] { NamespaceA, NamespaceB })
        {
            if (list.Split('\n').Any(line => line.Split(' ')[0] == ns))
            {
                Console.Error.WriteLine($"removing namespace {ns} left by an earlier run");
                Ip("netns", "del", ns);
            }
        }
    }

    private string Ip(params string[] args)
    {
        string? output = Util.Run(_ip, args, CommandTimeout, out string error);
        return output ?? throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {error}");
    }

    public void Dispose()
    {
        foreach (string ns in new[] { NamespaceA, NamespaceB })
        {
            if (Util.Run(_ip, ["netns", "del", ns], CommandTimeout, out string error) is null && !error.Contains("No such file", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"cleanup: ip netns del {ns}: {error}");
            }
        }
    }
}
