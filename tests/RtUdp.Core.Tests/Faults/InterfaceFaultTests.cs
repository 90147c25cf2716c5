using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.Faults;

/// <summary>
/// The egress interface of a running sending channel taken down, brought up again, then destroyed by deleting
/// the namespace of its veth peer. The engine runs in namespace rel-if-N (ip netns exec), its veth's peer in
/// rel-peer-N; nothing leaves the two namespaces. Every packet is sent or dropped with its errno counted, the
/// worker keeps running, the books balance at each step. Needs root and iproute2 (skips otherwise).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class InterfaceFaultTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const int ENETDOWN = 100;
    private const int ENETUNREACH = 101;
    private const int EADDRNOTAVAIL = 99;
    private const int ENODEV = 19;
    private const int ENXIO = 6;

    private readonly string _suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
    private readonly List<string> _namespaces = [];
    private EngineFixture? _engine;

    [Fact]
    public void Interface_down_up_and_deleted_under_a_running_channel_counts_every_packet()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            output.WriteLine("SKIPPED: needs root (network namespaces, veth); CI runs as root");
            return;
        }
        RtUdp.Testing.Tool.Require("ip", "iproute2");
        string local = $"rel-if-{_suffix}", peer = $"rel-peer-{_suffix}", veth = $"rel-vl-{_suffix}", vethPeer = $"rel-vp-{_suffix}";
        int subnet = Random.Shared.Next(0, 64) * 4;
        var address = IPAddress.Parse($"10.233.{subnet}.1");
        var peerAddress = IPAddress.Parse($"10.233.{subnet}.2");
        Ip("netns", "add", local);
        _namespaces.Add(local);
        Ip("netns", "add", peer);
        _namespaces.Add(peer);
        Ip("-n", local, "link", "add", veth, "type", "veth", "peer", "name", vethPeer, "netns", peer);
        Ip("-n", local, "addr", "add", $"{address}/30", "dev", veth);
        Ip("-n", peer, "addr", "add", $"{peerAddress}/30", "dev", vethPeer);
        foreach ((string ns, string link) in new[] { (local, veth), (local, "lo"), (peer, vethPeer), (peer, "lo") })
        {
            Ip("-n", ns, "link", "set", link, "up");
        }
        _engine = EngineFixture.StartWrapped(["ip", "netns", "exec", local]);
        using ChannelHandle tx = _engine.Client.CreateChannel(new ChannelConfig
        {
            Id = _engine.NextId(),
            Name = "iface-fault",
            Direction = ChannelDirection.Send,
            Local = new IPEndPoint(address, 0),
            Remote = new IPEndPoint(peerAddress, 9),
            Capacity = 1024,
            MaxPayload = 64,
        });
        Assert.Equal(ChannelState.Running, _engine.Client.StartChannel(tx.Id));
        long total = 0;

        // Up: the packets leave (the peer's kernel discards them; an ICMP port unreachable may come back as ECONNREFUSED, counted).
        total += Burst(tx, 50);
        ChannelStats up = Accounting.WaitFinished(tx, total);
        Assert.True(up[ChannelCounter.Sent] > 0, Accounting.Describe(up));

        // Down: every send fails (no route / network down), each packet dropped and its errno counted; the worker carries on.
        Ip("-n", local, "link", "set", veth, "down");
        total += Burst(tx, 50);
        ChannelStats down = Accounting.WaitFinished(tx, total);
        Assert.Equal(up[ChannelCounter.Sent], down[ChannelCounter.Sent]);
        Assert.True(down.SendErrnos.Keys.Any(e => e is ENETDOWN or ENETUNREACH), Accounting.Describe(down));
        Assert.Equal(ChannelState.Running, tx.State);
        Accounting.AssertBalanced(tx);

        // Up again: packets leave again.
        Ip("-n", local, "link", "set", veth, "up");
        Wait.Until(() => Ip("-n", local, "-o", "link", "show", veth).Contains("state UP", StringComparison.Ordinal), TimeSpan.FromSeconds(10), () => $"{veth} to come up");
        long sentBefore = down[ChannelCounter.Sent];
        Wait.Until(() =>
        {
            total += Burst(tx, 10);
            return Accounting.WaitFinished(tx, total)[ChannelCounter.Sent] > sentBefore;
        }, TimeSpan.FromSeconds(10), () => "packets to leave after the interface came up: " + Accounting.Describe(tx.ReadStats()));
        Accounting.AssertBalanced(tx);

        // The peer's namespace deleted: the veth pair goes, and with it the channel's address; sends fail, counted.
        Ip("netns", "del", peer);
        _namespaces.Remove(peer);
        Wait.Until(() => !Ip("-n", local, "-o", "link").Contains(veth, StringComparison.Ordinal), TimeSpan.FromSeconds(10), () => $"{veth} to disappear");
        ChannelStats beforeGone = tx.ReadStats();
        total += Burst(tx, 50);
        ChannelStats gone = Accounting.WaitFinished(tx, total);
        Assert.Equal(beforeGone[ChannelCounter.Sent], gone[ChannelCounter.Sent]);
        Assert.Equal(beforeGone[ChannelCounter.DroppedError] + 50, gone[ChannelCounter.DroppedError]);
        Assert.True(gone.SendErrnos.Keys.Any(e => e is ENETUNREACH or EADDRNOTAVAIL or ENODEV or ENXIO or ENETDOWN), Accounting.Describe(gone));
        Assert.Equal(ChannelState.Running, tx.State);
        Assert.False(_engine.Engine.HasExited, "the engine died:\n" + _engine.Log);
        Accounting.AssertBalanced(tx);
        Assert.Equal(total, gone[ChannelCounter.Enqueued]);
    }

    /// <summary>Enqueues <paramref name="count"/> packets 200 us apart from now; returns the count.</summary>
    private static int Burst(ChannelHandle tx, int count)
    {
        long now = Libc.MonotonicNow();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue("fault"u8, now + (i * 200_000L), i));
        }
        return count;
    }

    private static readonly TimeSpan IpTimeout = TimeSpan.FromSeconds(15);

    private static string Ip(params string[] args)
    {
        ProcessResult ip = ProcessRunner.Run("ip", args, IpTimeout);
        Assert.True(ip.ExitCode == 0, $"ip {string.Join(' ', args)} failed: {ip.Stderr}");
        return ip.Stdout;
    }

    public void Dispose()
    {
        _engine?.Dispose();
        foreach (string ns in _namespaces)
        {
            try
            {
                ProcessRunner.Run("ip", ["netns", "del", ns], IpTimeout);
            }
            catch (TimeoutException)
            {
                // Cleanup at best: a namespace left behind does not fail the test.
            }
        }
    }
}
