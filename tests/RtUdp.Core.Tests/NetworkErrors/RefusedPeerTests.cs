using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.NetworkErrors;

/// <summary>
/// A peer that refuses (nothing listens on its port, on loopback): every packet is sent, none dropped for
/// another packet's ICMP error, and each refusal is counted and reported for the packet it quotes.
/// Runs as any user.
/// </summary>
public sealed class RefusedPeerTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private const int Packets = 500;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private ChannelConfig Sender(string name, IPEndPoint remote, ChannelFlags flags) => new()
    {
        Id = fixture.NextId(),
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(IPAddress.Loopback, 0),
        Remote = remote,
        Capacity = 1024,
        MaxPayload = 2048,
        Flags = flags,
        // One datagram per packet: these tests match each ICMP error to its datagram, and a GSO train reaching
        // its peer uncut (loopback, veth) draws one error for all its packets (docs/gso.md).
        Gso = GsoMode.Off,
    };

    private static IPEndPoint ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Every_packet_to_a_closed_port_is_sent_and_each_refusal_is_matched_to_its_packet(bool sequenced)
    {
        using ChannelHandle tx = fixture.Client.CreateChannel(Sender(sequenced ? "refused-seq" : "refused-plain", ClosedPort(), sequenced ? ChannelFlags.Sequenced : ChannelFlags.None));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        tx.RequestReports();

        // 1 ms apart, as in the report of the fault (`rtudpctl send --rate 1000`): each packet's ICMP error is
        // back before the next send, which used to return it and drop that next packet.
        long start = Libc.MonotonicNow() + 2_000_000;
        byte[] payload = new byte[64];
        for (int i = 0; i < Packets; i++)
        {
            if (!sequenced)
            {
                BitConverter.TryWriteBytes(payload, i); // the payload's head tells the packets apart
            }
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, start + (i * 1_000_000L), packetId: 1000 + i));
        }

        var records = new TxReportRecord[Packets * 2];
        int read = 0;
        Wait.Until(() =>
        {
            read += tx.DrainRecords(records.AsSpan(read));
            ChannelStats s = tx.ReadStats();
            return s.Pending == 0 && s[ChannelCounter.NetworkRefused] == Packets;
        }, Timeout, () => $"all sent and refused: {Describe(tx.ReadStats())}\n{fixture.Log}");
        read += tx.DrainRecords(records.AsSpan(read));
        ChannelStats stats = tx.ReadStats();

        Assert.Equal(Packets, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats[ChannelCounter.DroppedError]);
        Assert.Equal(Packets, stats[ChannelCounter.NetworkErrorsExact]);
        Assert.Equal(0, stats[ChannelCounter.NetworkErrorsByOrder] + stats[ChannelCounter.NetworkErrorsUnattributed]);
        Accounting.AssertBalanced(tx);

        TxReportRecord[] errors = records.Take(read).Where(r => r.IsNetworkError).ToArray();
        Assert.Equal(Packets, errors.Length);
        Assert.Equal(Enumerable.Range(1000, Packets).Select(i => (long)i), errors.Select(e => e.NetworkError.PacketId).Order());
        foreach (TxReportRecord e in errors)
        {
            Assert.Equal((int)NetworkErrorKind.Refused, e.NetworkError.Kind);
            Assert.Equal((int)NetworkErrorAttribution.Exact, e.NetworkError.Attribution);
            Assert.Equal(Errno.ECONNREFUSED, e.NetworkError.Errno);
            Assert.Equal(3, e.NetworkError.IcmpType); // destination unreachable
            Assert.Equal(3, e.NetworkError.IcmpCode); // port unreachable
            Assert.Equal(IPAddress.Loopback, e.NetworkError.Offender.ToIPEndPoint()!.Address);
            Assert.True(e.NetworkError.ReportedNs >= e.NetworkError.SentNs && e.NetworkError.SentNs >= e.NetworkError.DueNs);
        }
        // Each packet's own report (sent) comes before its network error.
        var order = records.Take(read).Select((r, i) => (r, i)).ToArray();
        foreach ((TxReportRecord r, int i) in order.Where(x => x.r.IsNetworkError))
        {
            Assert.Contains(order, x => !x.r.IsNetworkError && x.r.Packet.PacketId == r.NetworkError.PacketId && x.i < i && (TxOutcome)x.r.Packet.Outcome is TxOutcome.Sent or TxOutcome.SentLate);
        }
    }

    [Fact]
    public void Packets_with_the_same_head_are_matched_in_the_order_they_left()
    {
        using ChannelHandle tx = fixture.Client.CreateChannel(Sender("refused-same", ClosedPort(), ChannelFlags.None));
        Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(tx.Id));
        tx.RequestReports();
        long start = Libc.MonotonicNow() + 2_000_000;
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue("x"u8, start + (i * 1_000_000L), packetId: 1 + i));
        }
        var records = new TxReportRecord[200];
        int read = 0;
        Wait.Until(() =>
        {
            read += tx.DrainRecords(records.AsSpan(read));
            return tx.ReadStats() is { Pending: 0 } s && s[ChannelCounter.NetworkRefused] == 50;
        }, Timeout, () => $"all refused: {Describe(tx.ReadStats())}");
        read += tx.DrainRecords(records.AsSpan(read));
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(50, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats[ChannelCounter.DroppedError]);
        // The first error finds one candidate (exact); later ones several with the same head: by order.
        Assert.Equal(50, stats[ChannelCounter.NetworkErrorsExact] + stats[ChannelCounter.NetworkErrorsByOrder]);
        long[] ids = records.Take(read).Where(r => r.IsNetworkError).Select(r => r.NetworkError.PacketId).ToArray();
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), ids);
    }

    private static string Describe(ChannelStats s) =>
        $"sent {s[ChannelCounter.Sent]}, dropped_error {s[ChannelCounter.DroppedError]}, pending {s.Pending}, refused {s[ChannelCounter.NetworkRefused]}, exact {s[ChannelCounter.NetworkErrorsExact]}, by_order {s[ChannelCounter.NetworkErrorsByOrder]}, none {s[ChannelCounter.NetworkErrorsUnattributed]}, resent {s[ChannelCounter.ResentAfterNetworkError]}, errnos {string.Join(",", s.SendErrnos)}";
}
