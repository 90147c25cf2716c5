using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// GSO trains across a veth pair between two engines in two namespaces: planned off (and refused when required)
/// where the device does not checksum on transmit, and kept on when the route's MTU drops under running trains
/// (the refused train's packets go alone, later trains fit the new MTU). Needs root (namespaces), iproute2, ethtool.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GsoNamespaceTests(GsoNamespaceFixture pair, ITestOutputHelper output) : IClassFixture<GsoNamespaceFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ChannelConfig Sender(string name, GsoMode gso, IPEndPoint remote) => new()
    {
        Id = pair.EngineA!.NextId(),
        Name = name,
        Direction = ChannelDirection.Send,
        Local = new IPEndPoint(pair.AddressA, 0),
        Remote = remote,
        Capacity = 2048,
        MaxPayload = 2048,
        BatchSize = 32,
        Gso = gso,
        Timestamps = TimestampMode.Software,
    };

    [Fact]
    public void Without_tx_checksum_offload_auto_sends_datagrams_and_on_is_refused_naming_gso()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineConnection a = pair.EngineA!.Client;
        var remote = new IPEndPoint(pair.AddressB, 9);
        pair.SetTxChecksum(false);
        try
        {
            using ChannelHandle auto = a.CreateChannel(Sender("gso-nocsum-auto", GsoMode.Auto, remote));
            ChannelModeBlock mode = auto.ReadStats().Mode;
            Assert.Equal(GsoState.Off, (GsoState)mode.Gso);
            Assert.Equal(0, mode.GsoMaxSegments);
            Assert.Contains($"gso: off (one datagram per packet): {pair.VethA} does not checksum UDP on transmit", mode.NotesText, StringComparison.Ordinal);
            a.DeleteChannel(auto.Id);

            var error = Assert.Throws<EngineCommandException>(() => a.CreateChannel(Sender("gso-nocsum-on", GsoMode.On, remote)));
            Assert.Equal(EngineStatus.FailedPrecondition, error.Status);
            Assert.Equal("gso", error.Field);
            Assert.Contains("tx-checksumming off", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            pair.SetTxChecksum(true);
        }
        // With the offload back, the same channel gets trains.
        using ChannelHandle on = a.CreateChannel(Sender("gso-csum-on", GsoMode.On, remote));
        Assert.Equal(GsoState.Trains, (GsoState)on.ReadStats().Mode.Gso);
        a.DeleteChannel(on.Id);
    }

    [Fact]
    public void When_the_mtu_drops_under_running_trains_their_packets_go_alone_and_trains_go_on()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle rx = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(),
            Name = "gso-mtu-rx",
            Direction = ChannelDirection.Receive,
            Local = new IPEndPoint(pair.AddressB, 0),
            Capacity = 2048,
            MaxPayload = 2048,
        });
        b.Client.StartChannel(rx.Id);
        using ChannelHandle tx = a.Client.CreateChannel(Sender("gso-mtu-tx", GsoMode.Auto, rx.BoundLocal));
        a.Client.StartChannel(tx.Id);
        Assert.Equal(GsoState.Trains, (GsoState)tx.ReadStats().Mode.Gso);
        byte[] buffer = new byte[2048];
        long sent = 0;

        void Burst(int count, int length)
        {
            long due = Libc.MonotonicNow() + 20_000_000;
            for (int i = 0; i < count; i++)
            {
                byte[] payload = new byte[length];
                BitConverter.TryWriteBytes(payload, (int)(sent + i));
                Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payload, due, sent + i, signal: false));
            }
            tx.Flush();
            for (int i = 0; i < count; i++)
            {
                // The first packet waits for ARP on the new link.
                ReceivedPacket? packet = rx.Receive(buffer, 3_000_000_000);
                Assert.True(packet.HasValue, $"packet {sent + i} ({length} B) not received: {Accounting.Describe(tx.ReadStats())}\nA:\n{a.Log}");
                Assert.Equal(length, packet.Value.Length);
                Assert.Equal((int)(sent + i), BitConverter.ToInt32(buffer));
            }
            sent += count;
            Accounting.WaitFinished(tx, sent, Timeout);
        }

        // 1200-byte packets fit the 1500 MTU: trains.
        Burst(64, 1200);
        long trainsBefore = tx.ReadStats()[ChannelCounter.GsoTrains];
        Assert.True(trainsBefore > 0, Accounting.Describe(tx.ReadStats()));

        // Now 1200 + 28 > 1000: the first train is refused (EMSGSIZE), its packets go alone (fragmented), the
        // MTU is read again, and the rest of the burst is planned within it: no more 1200-byte trains.
        pair.SetMtu(1000);
        Burst(64, 1200);
        ChannelStats stats = tx.ReadStats();
        Assert.Equal(trainsBefore, stats[ChannelCounter.GsoTrains]);
        Assert.True(stats.SendErrnos.GetValueOrDefault(Errno.EMSGSIZE) >= 1, "the kernel refused a 1200-byte train over the 1000 MTU");
        Assert.Equal(GsoState.Trains, (GsoState)stats.Mode.Gso);
        Assert.Equal(0, stats[ChannelCounter.GsoRefused]);
        Assert.Equal(0, stats.TxDropped);

        // 900-byte packets fit the new MTU: trains again.
        Burst(64, 900);
        stats = tx.ReadStats();
        Assert.True(stats[ChannelCounter.GsoTrains] > trainsBefore, Accounting.Describe(stats));
        // The refused train's stamp key was skipped: every packet got its datagram's stamp.
        Wait.Until(() => tx.ReadStats()[ChannelCounter.TxStampsSoftware] == sent, Timeout, () => $"{tx.ReadStats()[ChannelCounter.TxStampsSoftware]} of {sent} stamped");
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.TxStampsMissing]);
        Assert.Equal(0, tx.ReadStats()[ChannelCounter.TxStampsUnmatched]);
        Accounting.AssertBalanced(tx, rx);
        pair.SetMtu(1500);
        a.Client.DeleteChannel(tx.Id);
        b.Client.DeleteChannel(rx.Id);
    }
}
