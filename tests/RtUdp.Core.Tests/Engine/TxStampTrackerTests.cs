using RtUdp.Core.Engine.Send;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Engine;

/// <summary>
/// The TX stamp tracker: every packet completes once, with its datagram's stamp or as missing; a GSO train's one
/// key and one stamp complete all its packets; a key the kernel took for a refused train is skipped.
/// </summary>
public sealed class TxStampTrackerTests
{
    private struct Collect(List<(long Id, bool Missing, long SoftwareNs)> done) : IStampCompletion
    {
        public readonly void OnComplete(ref StampedPacket packet, bool missing) => done.Add((packet.PacketId, missing, packet.SoftwareNs));
    }

    private static readonly ClockOffset Realtime = new(0, 0, 1_000_000);

    private static ErrQueueMessage Snd(uint key, long softwareNs) =>
        new() { Kind = ErrQueueKind.TxTimestamp, Info = (uint)Libc.SCM_TSTAMP_SND, Data = key, SoftwareNs = softwareNs };

    [Fact]
    public void Packets_whose_stamps_never_come_all_expire()
    {
        using var tracker = new TxStampTracker(64, awaitHardware: false, timeoutNs: 10);
        var done = new List<(long Id, bool Missing, long SoftwareNs)>();
        var completion = new Collect(done);
        for (int i = 1; i <= 5; i++)
        {
            tracker.Track(new StampedPacket { PacketId = i }, nowNs: 100 + i, sameDatagram: false, ref completion);
        }
        tracker.Expire(108, ref completion);
        Assert.Empty(done);
        // Each expiry used to step the oldest key twice, leaving every other packet waiting for good.
        tracker.Expire(113, ref completion);
        Assert.Equal([1L, 2L, 3L], done.Select(d => d.Id));
        tracker.Expire(1000, ref completion);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), done.Select(d => d.Id));
        Assert.All(done, d => Assert.True(d.Missing));
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public void A_trains_one_stamp_completes_every_packet_of_it()
    {
        using var tracker = new TxStampTracker(64, awaitHardware: false, timeoutNs: 1_000_000);
        var done = new List<(long Id, bool Missing, long SoftwareNs)>();
        var completion = new Collect(done);
        // Key 0: a train of three; key 1: a packet alone; key 2: a train of two.
        tracker.Track(new StampedPacket { PacketId = 1 }, 10, sameDatagram: false, ref completion);
        tracker.Track(new StampedPacket { PacketId = 2 }, 10, sameDatagram: true, ref completion);
        tracker.Track(new StampedPacket { PacketId = 3 }, 10, sameDatagram: true, ref completion);
        tracker.Track(new StampedPacket { PacketId = 4 }, 10, sameDatagram: false, ref completion);
        tracker.Track(new StampedPacket { PacketId = 5 }, 10, sameDatagram: false, ref completion);
        tracker.Track(new StampedPacket { PacketId = 6 }, 10, sameDatagram: true, ref completion);
        Assert.Equal(3u, tracker.NextKey);
        Assert.Equal(6, tracker.Outstanding);

        tracker.OnStamp(Snd(2, 500), Realtime, default, 0, false, ref completion);
        tracker.OnStamp(Snd(0, 300), Realtime, default, 0, false, ref completion);
        tracker.OnStamp(Snd(1, 400), Realtime, default, 0, false, ref completion);

        Assert.Equal([(5L, false, 500L), (6L, false, 500L), (1L, false, 300L), (2L, false, 300L), (3L, false, 300L), (4L, false, 400L)], done);
        // Stamps count per packet stamped: a train's one stamp stamps three.
        Assert.Equal(6, tracker.Software);
        Assert.Equal(0, tracker.Unmatched);
        Assert.Equal(0, tracker.Outstanding);
        // A second stamp for a datagram already complete matches nothing.
        tracker.OnStamp(Snd(0, 300), Realtime, default, 0, false, ref completion);
        Assert.Equal(1, tracker.Unmatched);
    }

    [Fact]
    public void A_key_taken_by_a_refused_train_is_skipped()
    {
        using var tracker = new TxStampTracker(64, awaitHardware: false, timeoutNs: 1_000_000);
        var done = new List<(long Id, bool Missing, long SoftwareNs)>();
        var completion = new Collect(done);
        tracker.Track(new StampedPacket { PacketId = 1 }, 10, sameDatagram: false, ref completion);
        tracker.SkipKey();
        // The refused train's packets go again alone: key 2 and 3. A later segment after the skip begins a datagram.
        tracker.Track(new StampedPacket { PacketId = 2 }, 10, sameDatagram: true, ref completion);
        tracker.Track(new StampedPacket { PacketId = 3 }, 10, sameDatagram: false, ref completion);
        Assert.Equal(4u, tracker.NextKey);

        tracker.OnStamp(Snd(1, 999), Realtime, default, 0, false, ref completion);
        Assert.Equal(1, tracker.Unmatched);
        foreach (uint key in new uint[] { 0, 2, 3 })
        {
            tracker.OnStamp(Snd(key, 100 + key), Realtime, default, 0, false, ref completion);
        }
        Assert.Equal([(1L, false, 100L), (2L, false, 102L), (3L, false, 103L)], done);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public void A_full_table_pushes_out_the_oldest_and_keeps_the_new_packet_waiting()
    {
        using var tracker = new TxStampTracker(4, awaitHardware: false, timeoutNs: 100);
        var done = new List<(long Id, bool Missing, long SoftwareNs)>();
        var completion = new Collect(done);
        for (int i = 0; i < 4; i++)
        {
            tracker.Track(new StampedPacket { PacketId = i }, 10, sameDatagram: false, ref completion);
        }
        for (uint key = 1; key < 4; key++)
        {
            tracker.OnStamp(Snd(key, 50), Realtime, default, 0, false, ref completion);
        }
        // Packet 0 holds the oldest end: the three completed behind it still count until it goes.
        Assert.Equal(4, tracker.Outstanding);

        // Packet 0 still waits in the slot packet 4 needs: it gives up. Moving the oldest past the completed
        // packets must stop at packet 4, which used to be skipped and never expired.
        tracker.Track(new StampedPacket { PacketId = 4 }, 20, sameDatagram: false, ref completion);
        Assert.Equal((0L, true, 0L), done[^1]);
        Assert.Equal(1, tracker.Outstanding);
        tracker.Expire(1000, ref completion);
        Assert.Equal((4L, true, 0L), done[^1]);
        Assert.Equal(0, tracker.Outstanding);
    }

    [Fact]
    public void An_xdp_devices_completion_stamps_complete_frames_in_order_as_hardware_stamps_with_the_phc_offset()
    {
        // An xdp channel's n-th completed frame is its n-th frame sent: its TX metadata stamp goes to key n.
        using var tracker = new TxStampTracker(64, awaitHardware: true, timeoutNs: 1_000_000);
        var stamped = new List<(long Id, bool Missing, long HardwareNs)>();
        var completion = new CollectHardware(stamped);
        for (int i = 0; i < 3; i++)
        {
            tracker.Track(new StampedPacket { PacketId = 10 + i }, 10, sameDatagram: false, ref completion);
        }
        const long PhcMinusMonotonic = 5_000;
        for (uint key = 0; key < 3; key++)
        {
            tracker.OnStamp(ErrQueueMessage.DeviceTxStamp(key, 100_000 + key), Realtime, default, PhcMinusMonotonic, phcValid: true, ref completion);
        }
        Assert.Equal([(10L, false, 95_000L), (11L, false, 95_001L), (12L, false, 95_002L)], stamped);
        Assert.Equal(3, tracker.Hardware);
        Assert.Equal(0, tracker.Unmatched);
    }

    private struct CollectHardware(List<(long Id, bool Missing, long HardwareNs)> done) : IStampCompletion
    {
        public readonly void OnComplete(ref StampedPacket packet, bool missing) => done.Add((packet.PacketId, missing, packet.HardwareNs));
    }
}
