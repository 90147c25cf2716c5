using RtUdp.Core.Engine.Send;

namespace RtUdp.Core.Tests.Engine;

/// <summary>The TX stamp tracker's time-outs: every packet whose stamps never come completes once, as missing.</summary>
public sealed class TxStampTrackerTests
{
    private struct Collect(List<(long Id, bool Missing)> done) : IStampCompletion
    {
        public readonly void OnComplete(ref StampedPacket packet, bool missing) => done.Add((packet.PacketId, missing));
    }

    [Fact]
    public void Packets_whose_stamps_never_come_all_expire()
    {
        using var tracker = new TxStampTracker(64, awaitHardware: false, timeoutNs: 10);
        var done = new List<(long Id, bool Missing)>();
        var completion = new Collect(done);
        for (int i = 1; i <= 5; i++)
        {
            tracker.Track(new StampedPacket { PacketId = i }, nowNs: 100 + i, ref completion);
        }
        tracker.Expire(108, ref completion);
        Assert.Empty(done);
        // Each expiry used to step the oldest key twice, leaving every other packet waiting for good.
        tracker.Expire(113, ref completion);
        Assert.Equal([(1L, true), (2L, true), (3L, true)], done);
        tracker.Expire(1000, ref completion);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => ((long)i, true)), done);
        Assert.Equal(0, tracker.Outstanding);
    }
}
