using System.Net;
using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A <see cref="NamespacePair"/> ("xdpe-a-*", "xdpe-b-*", 10.233.N.0/30) whose veth ends have two queues each, for
/// engines with xdp channels: A's veth carries the AF_XDP sockets and the steering program. Needs root, iproute2.
/// </summary>
public sealed class XdpEngineFixture : NamespacePair
{
    public XdpEngineFixture()
        : base("xdpe", 233, "network namespaces, veth, AF_XDP, XDP programs", queues: 2)
    {
        if (SkipReason is null)
        {
            // A second subnet on A's veth, with no host behind .9: a next hop whose MAC never resolves.
            IpInA("addr", "add", $"10.233.{Subnet + 1}.1/24", "dev", VethA);
            // IPv6 too, without duplicate address detection (the addresses are usable at once).
            IpInA("addr", "add", $"{Ipv6Prefix}::1/64", "dev", VethA, "nodad");
            IpInB("addr", "add", $"{Ipv6Prefix}::2/64", "dev", VethB, "nodad");
            // B sends on one queue, so everything B sends arrives on A's queue 0 (a veth's RX queue is its peer's TX
            // queue, which B would otherwise pick by flow hash): the xdp channels' steering sees it there.
            string ethtool = Tool.Require("ethtool", "ethtool");
            Ip("netns", "exec", NamespaceB, ethtool, "-L", VethB, "tx", "1");
            // B's kernel checksums its datagrams itself: with the offload on, a veth hands the peer a partial UDP
            // checksum (no wire, no NIC to finish it), which the peer's stack trusts and AF_XDP sees as it is.
            Ip("netns", "exec", NamespaceB, ethtool, "-K", VethB, "tx", "off");
        }
    }

    private string Ipv6Prefix => $"fd00:233:{Subnet}";

    /// <summary>A's and B's IPv6 addresses on the pair.</summary>
    public IPAddress Ipv6A => IPAddress.Parse($"{Ipv6Prefix}::1");

    public IPAddress Ipv6B => IPAddress.Parse($"{Ipv6Prefix}::2");

    /// <summary>An on-link address of A's veth that nobody answers ARP for.</summary>
    public IPAddress SilentNeighbour => IPAddress.Parse($"10.233.{Subnet + 1}.9");

    /// <summary>Whether A's veth has an XDP program (ip link shows "prog/xdp").</summary>
    public bool ProgramOnA => IpInA("-d", "link", "show", VethA).Contains("prog/xdp", StringComparison.Ordinal);

    /// <summary>B's MAC as ip prints it (aa:bb:...), as A's frames must carry it (ip, not netlink: an oracle of its own).</summary>
    public string MacBText => IpInB("-br", "link", "show", VethB).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2];

    /// <summary>Deletes every channel either engine may still have (ids it handed out); ones already gone are skipped.</summary>
    public void DeleteAllChannels()
    {
        foreach (EngineFixture? engine in new[] { EngineA, EngineB })
        {
            if (engine is null)
            {
                continue;
            }
            uint last = engine.NextId();
            for (uint id = 1; id < last; id++)
            {
                try
                {
                    engine.Client.DeleteChannel(id);
                }
                catch (RtUdp.Core.Contract.Control.EngineCommandException)
                {
                    // Not there (deleted by the test, or never created).
                }
            }
        }
    }

    /// <summary>Kills engine A (SIGKILL, as a crash would) and starts another in the same directory and namespace.</summary>
    public EngineProcess RestartEngineA(Action<string> log)
    {
        EngineFixture a = EngineA!;
        _ = Tmds.Linux.LibC.kill(a.Engine.Pid, Tmds.Linux.LibC.SIGKILL);
        Wait.Until(() => !Directory.Exists($"/proc/{a.Engine.Pid}") || File.ReadAllText($"/proc/{a.Engine.Pid}/stat").Split(' ')[2] == "Z", TimeSpan.FromSeconds(10), "engine A to die");
        foreach (string file in Directory.EnumerateFiles(a.Directory, "channel-*.shm"))
        {
            File.Delete(file);
        }
        return EngineProcess.Start(a.Directory, log, wrapperCommand: [IpPath!, "netns", "exec", NamespaceA]);
    }
}
