using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using RtUdp.Core.Net;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Two network namespaces ("PREFIX-a-*", "PREFIX-b-*") joined by a veth pair ("PREFIX-va-*" in A, "PREFIX-vb-*" in
/// B). Addresses are 10.OCTET.N.1/30 and .2/30 (and, when asked for, fd00:OCTET:N::1/64 and ::2, without duplicate
/// address detection) inside the namespaces only; neither namespace has any other route, so nothing can leave them.
/// Needs root (else <see cref="SkipReason"/> says so and the tests skip) and iproute2 (else they fail, naming it).
/// Everything created is removed in <see cref="Dispose()"/>, also when set-up fails half way (a subclass whose own
/// set-up throws calls <see cref="Dispose()"/> itself). Code that must act inside a namespace (interface indexes,
/// sockets, libxdp) runs through <see cref="InA{T}(Func{T})"/> and <see cref="InB{T}(Func{T})"/>.
/// </summary>
public abstract class VethNamespacePair : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);

    private readonly List<string> _namespaces = [];
    private readonly Lazy<LinkInfo> _linkA;
    private readonly Lazy<LinkInfo> _linkB;

    /// <param name="prefix">Names the namespaces and links, so that fixtures running side by side never collide.</param>
    /// <param name="secondOctet">10.<paramref name="secondOctet"/>.N.0/30: a range of its own per fixture, for the same reason.</param>
    /// <param name="needs">What else the fixture needs root for, for the skip reason.</param>
    /// <param name="queues">Queues of each veth end (ip link add ... numtxqueues/numrxqueues).</param>
    /// <param name="ipv6">Also fd00:OCTET:N::1/64 and ::2 (nodad, and no duplicate address detection for the link-local address either).</param>
    protected VethNamespacePair(string prefix, int secondOctet, string needs, int queues = 1, bool ipv6 = false)
    {
        _linkA = new(() => InA(() => LinkReader.Get(VethA)));
        _linkB = new(() => InB(() => LinkReader.Get(VethB)));
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = $"needs root ({needs}); CI runs as root";
            return;
        }
        IpPath = Tool.Require("ip", "iproute2");

        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        SecondOctet = secondOctet;
        NamespaceA = $"{prefix}-a-{suffix}";
        NamespaceB = $"{prefix}-b-{suffix}";
        string vethA = VethA = $"{prefix}-va-{suffix}";
        string vethB = VethB = $"{prefix}-vb-{suffix}";
        Subnet = subnet;
        AddressA = IPAddress.Parse($"10.{secondOctet}.{subnet}.1");
        AddressB = IPAddress.Parse($"10.{secondOctet}.{subnet}.2");
        if (ipv6)
        {
            Address6A = IPAddress.Parse($"fd00:{secondOctet}:{subnet:x}::1");
            Address6B = IPAddress.Parse($"fd00:{secondOctet}:{subnet:x}::2");
        }
        try
        {
            Ip("netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Ip("netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Created inside A, so a failure later never leaves a link in the root namespace.
            string q = queues.ToString(CultureInfo.InvariantCulture);
            Ip("-n", NamespaceA, "link", "add", vethA, "numtxqueues", q, "numrxqueues", q, "type", "veth", "peer", "name", vethB, "numtxqueues", q, "numrxqueues", q, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address, IPAddress address6) in new[] { (NamespaceA, vethA, AddressA, Address6A), (NamespaceB, vethB, AddressB, Address6B) })
            {
                Ip("-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                if (ipv6)
                {
                    // Neither on the link-local address: neighbour resolution without a packet to take a source from
                    // (NTF_USE) solicits from it, which is unusable while tentative.
                    NetnsThread.Run(ns, () => File.WriteAllText($"/proc/sys/net/ipv6/conf/{veth}/accept_dad", "0"));
                    Ip("-n", ns, "addr", "add", $"{address6}/64", "dev", veth, "nodad");
                }
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Why the tests cannot run here; null when they can.</summary>
    public string? SkipReason { get; }

    /// <summary>Whether a test must skip here: then says why (<see cref="SkipReason"/>) on <paramref name="output"/>.</summary>
    public bool Skips(Xunit.Abstractions.ITestOutputHelper output)
    {
        if (SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return true;
        }
        return false;
    }

    /// <summary>iproute2's ip (null when skipped).</summary>
    public string? IpPath { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    /// <summary>A's end of the veth pair (inside namespace A).</summary>
    public string VethA { get; } = "";

    /// <summary>B's end of the veth pair (inside namespace B).</summary>
    public string VethB { get; } = "";

    /// <summary>The second octet of the pair's 10.OCTET.N.0/30.</summary>
    public int SecondOctet { get; }

    /// <summary>The third octet of the pair's 10.OCTET.N.0/30 (a multiple of 4: N+1 to N+3 are free for a fixture's own use).</summary>
    public int Subnet { get; }

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    /// <summary>A's IPv6 address (<see cref="IPAddress.IPv6None"/> unless the pair was made with IPv6).</summary>
    public IPAddress Address6A { get; } = IPAddress.IPv6None;

    /// <inheritdoc cref="Address6A"/>
    public IPAddress Address6B { get; } = IPAddress.IPv6None;

    /// <summary>A's veth as the kernel describes it inside A (read once, with the product's <see cref="LinkReader"/>).</summary>
    public LinkInfo LinkA => _linkA.Value;

    /// <summary>B's veth as the kernel describes it inside B.</summary>
    public LinkInfo LinkB => _linkB.Value;

    /// <summary>A's veth's ifindex (inside A).</summary>
    public int IfindexA => LinkA.Ifindex;

    /// <summary>B's veth's ifindex (inside B).</summary>
    public int IfindexB => LinkB.Ifindex;

    public PhysicalAddress MacA => LinkA.Address!;

    public PhysicalAddress MacB => LinkB.Address!;

    /// <summary>The namespace a process runs in, as <c>ip netns identify</c> names it.</summary>
    public string Identify(int pid) => Ip("netns", "identify", pid.ToString(CultureInfo.InvariantCulture)).Trim();

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

    /// <summary>ip with <paramref name="args"/> inside namespace A (ip -n A ...).</summary>
    public string IpInA(params string[] args) => Ip(["-n", NamespaceA, .. args]);

    /// <summary>ip with <paramref name="args"/> inside namespace B (ip -n B ...).</summary>
    public string IpInB(params string[] args) => Ip(["-n", NamespaceB, .. args]);

    /// <summary>Runs <paramref name="work"/> on a thread inside namespace A (<see cref="NetnsThread"/>).</summary>
    public T InA<T>(Func<T> work) => NetnsThread.Run(NamespaceA, work);

    /// <inheritdoc cref="InA{T}(Func{T})"/>
    public void InA(Action work) => NetnsThread.Run(NamespaceA, work);

    /// <summary>Runs <paramref name="work"/> on a thread inside namespace B (<see cref="NetnsThread"/>).</summary>
    public T InB<T>(Func<T> work) => NetnsThread.Run(NamespaceB, work);

    /// <inheritdoc cref="InB{T}(Func{T})"/>
    public void InB(Action work) => NetnsThread.Run(NamespaceB, work);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
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

    /// <summary>Whether namespace A exists (still, or yet: a subclass's clean-up may run after a half-done set-up).</summary>
    protected bool HasNamespaceA => _namespaces.Contains(NamespaceA);
}
