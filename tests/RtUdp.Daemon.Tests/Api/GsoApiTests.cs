using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Google.Rpc;
using Grpc.Core;
using RtUdp.Core.Native;
using RtUdp.V1;
using Xunit.Abstractions;

namespace RtUdp.Daemon.Tests.Api;

/// <summary>
/// GSO trains as the API shows them (docs/gso.md): the mode in effect, the refusal at start of gso ON on a device
/// that does not checksum on transmit, and the run-time fallback with its errno in words. Needs root: a daemon in a
/// network namespace of its own (iproute2, ethtool), and the engine's socket changed under it (pidfd_getfd).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GsoApiTests(ITestOutputHelper output)
{
    private static bool IsRoot => Tmds.Linux.LibC.geteuid() == 0;

    private static Channel Sender(string local, string remote, GsoMode gso) => new()
    {
        Direction = ChannelDirection.Send,
        Local = new Endpoint { Address = local, Port = 0 },
        Remote = new Endpoint { Address = remote, Port = 9 },
        Capacity = 1024,
        MaxPayload = 2048,
        Priority = 0,
        Gso = gso,
    };

    [Fact]
    public async Task Gso_on_is_refused_naming_the_field_where_the_egress_device_does_not_checksum()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (a network namespace of its own); CI runs as root");
            return;
        }
        string ip = Tool.Require("ip", "iproute2");
        string ethtool = Tool.Require("ethtool", "ethtool");
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        string ns = $"gsoapi-{suffix}";
        string veth = $"gsoapi-v-{suffix}";
        string subnet = $"10.236.{Random.Shared.Next(0, 64) * 4}";
        Tool.Run(ip, "netns", "add", ns);
        try
        {
            // Both ends in the namespace; the channel's local address owns veth, whose TX checksumming is off.
            Tool.Run(ip, "-n", ns, "link", "add", veth, "type", "veth", "peer", "name", veth + "p");
            Tool.Run(ip, "-n", ns, "addr", "add", $"{subnet}.1/30", "dev", veth);
            foreach (string link in new[] { "lo", veth, veth + "p" })
            {
                Tool.Run(ip, "-n", ns, "link", "set", link, "up");
            }
            Tool.Run(ip, "netns", "exec", ns, ethtool, "-K", veth, "tx", "off");

            await using OwnedDaemon daemon = await OwnedDaemon.StartAsync(wrapper: [ip, "netns", "exec", ns]);
            Google.Rpc.Status status = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => daemon.Unix.Channels.CreateChannelAsync(
                new CreateChannelRequest { ChannelId = "gso-on", Channel = Sender($"{subnet}.1", $"{subnet}.2", GsoMode.On), Start = true }).ResponseAsync);
            PreconditionFailure.Types.Violation violation = Assert.Single(status.GetDetail<PreconditionFailure>()!.Violations);
            Assert.Equal("channel.gso", violation.Subject);
            Assert.Contains($"{veth} does not checksum UDP on transmit", violation.Description, StringComparison.Ordinal);

            Channel auto = (await daemon.Unix.Channels.CreateChannelAsync(
                new CreateChannelRequest { ChannelId = "gso-auto", Channel = Sender($"{subnet}.1", $"{subnet}.2", GsoMode.Auto), Start = true })).Channel;
            Assert.Equal(GsoState.Off, auto.Mode.Gso);
            Assert.Equal(0, auto.Mode.GsoMaxSegments);
            Assert.Contains("gso: off (one datagram per packet)", auto.Mode.Notes, StringComparison.Ordinal);
            Assert.Contains("tx-checksumming off", auto.Mode.Notes, StringComparison.Ordinal);
            await daemon.Unix.DeleteAsync(auto);
        }
        finally
        {
            Tool.Run(ip, "netns", "del", ns);
        }
    }

    [Fact]
    public async Task A_train_the_kernel_refuses_shows_as_fell_back_with_its_errno_and_loses_nothing()
    {
        if (!IsRoot)
        {
            output.WriteLine("SKIPPED: needs root (pidfd_getfd of the engine's socket); CI runs as root");
            return;
        }
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20, ReceiveTimeout = 5000 };
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var sink = new Endpoint { Address = "127.0.0.1", Port = (uint)((IPEndPoint)receiver.LocalEndPoint!).Port };
        Channel tx = await daemon.Unix.CreateSenderAsync("gso-fallback", sink, configure: c => c.BatchSize = 32);
        Assert.Equal(GsoState.Trains, tx.Mode.Gso);
        Assert.Equal(32, tx.Mode.GsoMaxSegments);

        // No UDP checksums on the engine's socket: the kernel refuses every train (EINVAL), never a single datagram.
        int socket = EngineSocket.Borrow(daemon.Fixture.EnginePid, (int)tx.BoundLocal.Port);
        try
        {
            EngineSocket.SetInt(socket, Tmds.Linux.LibC.SOL_SOCKET, EngineSocket.SO_NO_CHECK, 1);
        }
        finally
        {
            _ = Tmds.Linux.LibC.close(socket);
        }

        const int Count = 64;
        long due = Libc.MonotonicNow() + 50_000_000;
        var request = new SendRequest { Channel = tx.Name };
        for (int i = 0; i < Count; i++)
        {
            request.Packets.Add(new OutgoingPacket { Payload = Google.Protobuf.ByteString.CopyFromUtf8(i.ToString("D4", CultureInfo.InvariantCulture)), MonotonicNs = due });
        }
        Assert.Equal(Count, (await daemon.Unix.Packets.SendAsync(request)).Accepted);
        byte[] buffer = new byte[2048];
        for (int i = 0; i < Count; i++)
        {
            int length = receiver.Receive(buffer);
            Assert.Equal(i.ToString("D4", CultureInfo.InvariantCulture), System.Text.Encoding.UTF8.GetString(buffer, 0, length));
        }

        V1.ChannelStats stats = await daemon.Unix.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Count);
        Assert.Equal(0, stats.Tx.DroppedError);
        ChannelMode mode = (await daemon.Unix.Channels.GetChannelAsync(new GetChannelRequest { Name = tx.Name })).Channel.Mode;
        Assert.Equal(GsoState.FellBack, mode.Gso);
        Assert.Equal(Errno.EINVAL, mode.GsoErrno);
        Assert.Contains("gso: fell back to one datagram per packet (sendmmsg): the kernel refused a train with EINVAL", mode.Notes, StringComparison.Ordinal);
        await daemon.Unix.DeleteAsync(tx);
    }
}
