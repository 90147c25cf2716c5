using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Flows;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// UDP GSO trains through a real engine on loopback (docs/gso.md): packets due together leave in trains and reach
/// a plain UDP socket (no UDP_GRO: the kernel cuts each train back into datagrams) whole and in order; flow
/// headers, outcomes and TX stamps stay per packet; a train the kernel refuses is sent again packet by packet and
/// the channel falls back to sendmmsg. The refusal test changes the engine's socket (pidfd_getfd): root, as CI.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class GsoTrainTests(EngineFixture fixture) : IClassFixture<EngineFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ChannelConfig Sender(string name, IPEndPoint remote, GsoMode gso = GsoMode.Auto, TimestampMode timestamps = TimestampMode.Off, ChannelFlags flags = ChannelFlags.None) =>
        TestChannels.Sender(fixture.NextId(), name, remote) with { BatchSize = 32, Gso = gso, Timestamps = timestamps, Flags = flags, Capacity = 2048 };

    private ChannelHandle Start(ChannelConfig config)
    {
        ChannelHandle channel = fixture.Client.CreateChannel(config);
        fixture.Client.StartChannel(channel.Id);
        return channel;
    }

    /// <summary>A plain socket with room for every burst: what the kernel cut from the trains, one datagram a read.</summary>
    private static Socket PlainReceiver()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 8 << 20, ReceiveTimeout = 5000 };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>Contents no two packets share: the index, then bytes that depend on it and on their place.</summary>
    private static byte[] Payload(int index, int length)
    {
        byte[] payload = new byte[length];
        for (int i = 0; i < length; i++)
        {
            payload[i] = (byte)((index * 31) + (i * 7) + 1);
        }
        if (length >= 4)
        {
            BinaryPrimitives.WriteInt32LittleEndian(payload, index);
        }
        return payload;
    }

    /// <summary>Enqueues every payload due at one time (a burst due together), <paramref name="firstId"/> on.</summary>
    private static long EnqueueBurst(ChannelHandle tx, IReadOnlyList<byte[]> payloads, int firstId = 0)
    {
        long due = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < payloads.Count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(payloads[i], due, firstId + i, signal: false));
        }
        tx.Flush();
        return due;
    }

    private static void AssertReceivedInOrder(Socket socket, IReadOnlyList<byte[]> expected, Func<string> describe)
    {
        byte[] buffer = new byte[65536];
        for (int i = 0; i < expected.Count; i++)
        {
            int length;
            try
            {
                length = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                Assert.Fail($"datagram {i} of {expected.Count} did not arrive: {describe()}");
                return;
            }
            Assert.True(expected[i].AsSpan().SequenceEqual(buffer.AsSpan(0, length)), $"datagram {i}: {length} bytes, not packet {i}'s {expected[i].Length} (out of order, cut wrong or mixed)");
        }
    }

    private string Describe(ChannelHandle tx)
    {
        ChannelStats s = tx.ReadStats();
        return $"{Accounting.Describe(s)}; gso {(GsoState)s.Mode.Gso} errno {s.Mode.GsoErrno}, trains {s[ChannelCounter.GsoTrains]} of {s[ChannelCounter.GsoTrainPackets]} packets, refused {s[ChannelCounter.GsoRefused]}\n{fixture.Log}";
    }

    [Fact]
    public void Equal_packets_due_together_leave_in_trains_and_arrive_whole_in_order()
    {
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender("gso-equal", (IPEndPoint)receiver.LocalEndPoint!));
        ChannelStats started = tx.ReadStats();
        Assert.Equal(GsoState.Trains, (GsoState)started.Mode.Gso);
        Assert.Equal(32, started.Mode.GsoMaxSegments);

        byte[][] payloads = [.. Enumerable.Range(0, 200).Select(i => Payload(i, 64))];
        EnqueueBurst(tx, payloads);
        AssertReceivedInOrder(receiver, payloads, () => Describe(tx));

        ChannelStats stats = Accounting.WaitFinished(tx, payloads.Length);
        Assert.Equal(payloads.Length, stats[ChannelCounter.Sent]);
        Assert.Equal(payloads.Length, stats[ChannelCounter.SendBatchPackets]);
        // Due together, 32 a batch: nearly every packet rides a train, and far fewer calls than packets are made.
        Assert.True(stats[ChannelCounter.GsoTrains] > 0, Describe(tx));
        Assert.InRange(stats[ChannelCounter.GsoTrainPackets], payloads.Length / 2, payloads.Length);
        Assert.True(stats[ChannelCounter.SendCalls] < payloads.Length / 4, Describe(tx));
        Assert.Equal(0, stats[ChannelCounter.GsoRefused]);
        Assert.Equal(GsoState.Trains, (GsoState)stats.Mode.Gso);
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Fact]
    public void Mixed_sizes_are_cut_into_trains_and_single_datagrams_exactly()
    {
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender("gso-mixed", (IPEndPoint)receiver.LocalEndPoint!));
        // Runs with a shorter last packet, a longer one breaking a run, an empty packet, sizes that repeat.
        int[] pattern = [100, 100, 100, 40, 300, 200, 200, 200, 0, 64, 64, 1400, 1400, 1500, 1500, 1500, 7, 7, 3];
        byte[][] payloads = [.. Enumerable.Range(0, 8 * pattern.Length).Select(i => Payload(i, pattern[i % pattern.Length]))];
        EnqueueBurst(tx, payloads);
        AssertReceivedInOrder(receiver, payloads, () => Describe(tx));

        ChannelStats stats = Accounting.WaitFinished(tx, payloads.Length);
        Assert.Equal(payloads.Length, stats[ChannelCounter.Sent]);
        Assert.True(stats[ChannelCounter.GsoTrains] > 0, Describe(tx));
        Assert.True(stats[ChannelCounter.GsoTrainPackets] < payloads.Length, "the empty and the longer packets go alone");
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Theory]
    [InlineData(64, 17, 32)]
    [InlineData(1400, 999, 20)]
    [InlineData(700, 1, 9)]
    public void A_gathered_train_with_a_shorter_last_packet_arrives_whole_in_order(int segment, int last, int perTrain)
    {
        // Each train's payloads are copied into one buffer before the send: every packet must come out of it
        // intact, at its place, the shorter last one included; several trains share a batch when they are short.
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender($"gso-gather-{segment}", (IPEndPoint)receiver.LocalEndPoint!));
        const int Trains = 6;
        byte[][] payloads = [.. Enumerable.Range(0, Trains * perTrain).Select(i => Payload(i, i % perTrain == perTrain - 1 ? last : segment))];
        EnqueueBurst(tx, payloads);
        AssertReceivedInOrder(receiver, payloads, () => Describe(tx));

        ChannelStats stats = Accounting.WaitFinished(tx, payloads.Length);
        Assert.Equal(payloads.Length, stats[ChannelCounter.Sent]);
        Assert.True(stats[ChannelCounter.GsoTrains] >= Trains, Describe(tx));
        Assert.InRange(stats[ChannelCounter.GsoTrainPackets], payloads.Length / 2, payloads.Length);
        Assert.Equal(0, stats[ChannelCounter.GsoRefused]);
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Fact]
    public void Off_sends_one_datagram_per_packet()
    {
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender("gso-off", (IPEndPoint)receiver.LocalEndPoint!, GsoMode.Off));
        Assert.Equal(GsoState.Off, (GsoState)tx.ReadStats().Mode.Gso);
        byte[][] payloads = [.. Enumerable.Range(0, 64).Select(i => Payload(i, 64))];
        EnqueueBurst(tx, payloads);
        AssertReceivedInOrder(receiver, payloads, () => Describe(tx));
        ChannelStats stats = Accounting.WaitFinished(tx, payloads.Length);
        Assert.Equal(0, stats[ChannelCounter.GsoTrains]);
        Assert.Equal(0, stats[ChannelCounter.GsoTrainPackets]);
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Fact]
    public void A_sequenced_flow_in_trains_arrives_without_loss_or_reordering()
    {
        using ChannelHandle rx = Start(TestChannels.Receiver(fixture.NextId(), "gso-flow-rx") with { Flags = ChannelFlags.Sequenced, Capacity = 2048 });
        using ChannelHandle tx = Start(Sender("gso-flow-tx", rx.BoundLocal, flags: ChannelFlags.Sequenced) with { FlowId = 9 });
        const int Bursts = 3;
        const int PerBurst = 100;
        for (int burst = 0; burst < Bursts; burst++)
        {
            EnqueueBurst(tx, [.. Enumerable.Range(0, PerBurst).Select(i => new byte[64])], burst * PerBurst);
            Accounting.WaitFinished(tx, (burst + 1) * PerBurst, Timeout);
        }

        byte[] buffer = new byte[rx.Config.MaxPayload];
        for (int i = 0; i < Bursts * PerBurst; i++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, 2_000_000_000);
            Assert.True(packet.HasValue, $"packet {i} not received: {Describe(tx)}");
            Assert.Equal(64, packet.Value.Length);
            Assert.True(FlowHeader.TryRead(buffer.AsSpan(0, packet.Value.Length), out FlowHeader header));
            Assert.Equal(9u, header.FlowId);
            Assert.Equal((ulong)i, header.Sequence);
            Assert.True(header.SentNs >= header.ScheduledNs - 1_000_000_000 && header.SentNs > 0, "each packet's own send time was written");
        }
        FlowSnapshot flow = Assert.Single(rx.ReadStats().Flows);
        Assert.Equal((Bursts * PerBurst, Bursts * PerBurst, 0L, 0L, 0L), (flow.Received, flow.Unique, flow.Lost, flow.Reordered, flow.Duplicates));
        Assert.Equal((ulong)((Bursts * PerBurst) - 1), flow.HighestSequence);
        Assert.True(tx.ReadStats()[ChannelCounter.GsoTrains] > 0, Describe(tx));
        Accounting.AssertBalanced(tx, rx);
        fixture.Client.DeleteChannel(tx.Id);
        fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Every_packet_of_a_train_completes_with_the_trains_software_stamp()
    {
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender("gso-stamps", (IPEndPoint)receiver.LocalEndPoint!, timestamps: TimestampMode.Software));
        tx.RequestReports();
        byte[][] payloads = [.. Enumerable.Range(0, 128).Select(i => Payload(i, 64))];
        EnqueueBurst(tx, payloads);
        AssertReceivedInOrder(receiver, payloads, () => Describe(tx));

        TxReport[] reports = DrainReports(tx, payloads.Length);
        Assert.All(reports, r =>
        {
            // Later batches of a burst may leave past the late tolerance: sent either way.
            Assert.True((TxOutcome)r.Outcome is TxOutcome.Sent or TxOutcome.SentLate, $"packet {r.PacketId}: {(TxOutcome)r.Outcome}");
            Assert.Equal((int)StampSource.Software, r.StampSource);
            Assert.True(r.SchedNs > 0 && r.SoftwareNs >= r.SchedNs, $"packet {r.PacketId}: sched {r.SchedNs}, snd {r.SoftwareNs}");
        });
        // A train's packets share its first segment's stamp.
        Assert.True(reports.GroupBy(r => r.SoftwareNs).Max(g => g.Count()) > 1, "no two packets share a stamp: no train was stamped");
        ChannelStats stats = tx.ReadStats();
        Assert.True(stats[ChannelCounter.GsoTrains] > 0, Describe(tx));
        Assert.Equal(payloads.Length, stats[ChannelCounter.TxStampsSoftware]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsMissing]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsUnmatched]);
        Assert.Equal(payloads.Length, stats.Histograms[ChannelHistogram.StageSoftware].TotalCount);
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    [Fact]
    public void A_refused_train_is_sent_again_packet_by_packet_and_the_channel_falls_back()
    {
        if (LibC.geteuid() != 0)
        {
            return; // pidfd_getfd of the engine's socket needs root (CI runs as root)
        }
        using Socket receiver = PlainReceiver();
        using ChannelHandle tx = Start(Sender("gso-refused", (IPEndPoint)receiver.LocalEndPoint!, timestamps: TimestampMode.Software));
        tx.RequestReports();
        Assert.Equal(GsoState.Trains, (GsoState)tx.ReadStats().Mode.Gso);
        // Without UDP checksums (SO_NO_CHECK) the kernel refuses every train with EINVAL, single datagrams not.
        int socket = EngineSocket.Borrow(fixture.Engine.Pid, tx.BoundLocal.Port);
        try
        {
            EngineSocket.SetInt(socket, SOL_SOCKET, EngineSocket.SO_NO_CHECK, 1);
        }
        finally
        {
            _ = LibC.close(socket);
        }

        byte[][] first = [.. Enumerable.Range(0, 100).Select(i => Payload(i, 64))];
        EnqueueBurst(tx, first);
        AssertReceivedInOrder(receiver, first, () => Describe(tx));
        ChannelStats stats = Accounting.WaitFinished(tx, first.Length);
        Assert.Equal(GsoState.FellBack, (GsoState)stats.Mode.Gso);
        Assert.Equal(Errno.EINVAL, stats.Mode.GsoErrno);
        Assert.Equal(1, stats[ChannelCounter.GsoRefused]);
        Assert.Equal(0, stats[ChannelCounter.GsoTrains]);
        // The one failed call is in the send errnos; no packet is dropped or counted twice.
        Assert.Equal(1, stats.SendErrnos.GetValueOrDefault(Errno.EINVAL));
        Assert.Equal(first.Length, stats[ChannelCounter.Sent]);
        Assert.Equal(0, stats.TxDropped);

        // Later bursts go one datagram per packet from the start.
        byte[][] second = [.. Enumerable.Range(100, 50).Select(i => Payload(i, 64))];
        EnqueueBurst(tx, second, firstId: 100);
        AssertReceivedInOrder(receiver, second, () => Describe(tx));
        stats = Accounting.WaitFinished(tx, first.Length + second.Length);
        Assert.Equal(1, stats[ChannelCounter.GsoRefused]);
        Assert.Equal(0, stats[ChannelCounter.GsoTrains]);

        // The refused train took a stamp key: skipped, every packet still gets its own datagram's stamp.
        TxReport[] reports = DrainReports(tx, first.Length + second.Length);
        Assert.All(reports, r => Assert.Equal((int)StampSource.Software, r.StampSource));
        Assert.Equal(reports.Length, reports.Select(r => r.SoftwareNs).Distinct().Count());
        stats = tx.ReadStats();
        Assert.Equal(0, stats[ChannelCounter.TxStampsMissing]);
        Assert.Equal(0, stats[ChannelCounter.TxStampsUnmatched]);
        Accounting.AssertBalanced(tx);
        fixture.Client.DeleteChannel(tx.Id);
    }

    private static TxReport[] DrainReports(ChannelHandle tx, int count)
    {
        var reports = new List<TxReport>();
        var buffer = new TxReport[256];
        Wait.Until(
            () =>
            {
                int n = tx.DrainReports(buffer);
                reports.AddRange(buffer.AsSpan(0, n).ToArray());
                return reports.Count >= count;
            },
            Timeout,
            () => $"{reports.Count} of {count} reports");
        return [.. reports.OrderBy(r => r.PacketId)];
    }

    private static int SOL_SOCKET => LibC.SOL_SOCKET;
}
