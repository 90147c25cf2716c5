using System.Net;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Two network namespaces ("PREFIX-a-*", "PREFIX-b-*") joined by a veth pair, each running its own engine
/// process (<c>ip netns exec NS rtudp-engine</c>). Addresses are 10.OCTET.N.1/30 and .2/30 inside the
/// namespaces only; neither namespace has any other route, so nothing can leave them. Needs root (else
/// <see cref="SkipReason"/> says so and the tests skip) and iproute2 (else they fail, naming it).
/// Everything created is removed in <see cref="Dispose"/>, also when set-up fails half way.
/// </summary>
public abstract class NamespacePair : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    private readonly List<string> _namespaces = [];

    /// <param name="prefix">Names the namespaces and links, so that fixtures running side by side never collide.</param>
    /// <param name="secondOctet">10.<paramref name="secondOctet"/>.N.0/30: a range of its own per fixture, for the same reason.</param>
    /// <param name="needs">What else the fixture needs root for, for the skip reason.</param>
    /// <param name="queues">Queues of each veth end (ip link add ... numtxqueues/numrxqueues).</param>
    protected NamespacePair(string prefix, int secondOctet, string needs, int queues = 1)
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = $"needs root ({needs}); CI runs as root";
            return;
        }
        IpPath = Tool.Require("ip", "iproute2");

        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        NamespaceA = $"{prefix}-a-{suffix}";
        NamespaceB = $"{prefix}-b-{suffix}";
        string vethA = VethA = $"{prefix}-va-{suffix}";
        string vethB = VethB = $"{prefix}-vb-{suffix}";
        Subnet = subnet;
        AddressA = IPAddress.Parse($"10.{secondOctet}.{subnet}.1");
        AddressB = IPAddress.Parse($"10.{secondOctet}.{subnet}.2");
        try
        {
            Ip("netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Ip("netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Created inside A, so a failure later never leaves a link in the root namespace.
            string q = queues.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Ip("-n", NamespaceA, "link", "add", vethA, "numtxqueues", q, "numrxqueues", q, "type", "veth", "peer", "name", vethB, "numtxqueues", q, "numrxqueues", q, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, vethA, AddressA), (NamespaceB, vethB, AddressB) })
            {
                Ip("-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
            }
            EngineA = EngineFixture.StartWrapped([IpPath, "netns", "exec", NamespaceA]);
            EngineB = EngineFixture.StartWrapped([IpPath, "netns", "exec", NamespaceB]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Why the tests cannot run here; null when they can.</summary>
    public string? SkipReason { get; }

    /// <summary>iproute2's ip (null when skipped).</summary>
    public string? IpPath { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    /// <summary>A's end of the veth pair (inside namespace A).</summary>
    public string VethA { get; } = "";

    /// <summary>B's end of the veth pair (inside namespace B).</summary>
    public string VethB { get; } = "";

    /// <summary>The third octet of the pair's 10.OCTET.N.0/30 (a multiple of 4: N+1 to N+3 are free for a fixture's own use).</summary>
    public int Subnet { get; }

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    /// <summary>The engine running in namespace A.</summary>
    public EngineFixture? EngineA { get; private set; }

    /// <summary>The engine running in namespace B.</summary>
    public EngineFixture? EngineB { get; private set; }

    /// <summary>The namespace a process runs in, as <c>ip netns identify</c> names it.</summary>
    public string Identify(int pid) => Ip("netns", "identify", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)).Trim();

    /// <summary>Runs ip with <paramref name="args"/>; a non-zero exit throws with what it said.</summary>
    protected string Ip(params string[] args)
    {
        ProcessResult ip = ProcessRunner.Run(IpPath!, args, CommandTimeout);
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({ip.ExitCode}): {ip.Stderr.Trim()}");
        }
        return ip.Stdout;
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        // Engines first: they run inside the namespaces.
        EngineA?.Dispose();
        EngineA = null;
        EngineB?.Dispose();
        EngineB = null;
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

/// <summary>The pair for the seed flow's namespace test: 10.231.N.0/30.</summary>
public sealed class NamespacePairFixture() : NamespacePair("rtudp", 231, "network namespaces, veth");
