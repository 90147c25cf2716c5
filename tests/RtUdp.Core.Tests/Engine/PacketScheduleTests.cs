using RtUdp.Core.Engine.Send;

namespace RtUdp.Core.Tests.Engine;

public sealed class PacketScheduleTests
{
    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.1, 2)]
    [InlineData(0.5, 3)]
    [InlineData(1.0, 4)]
    public void Mixed_in_order_and_out_of_order_arrivals_pop_in_due_then_arrival_order(double disorder, int seed)
    {
        var random = new Random(seed);
        using var schedule = new PacketSchedule(20_000);
        var reference = new List<ScheduledPacket>();
        long clock = 1_000_000;
        uint sequence = uint.MaxValue - 5_000; // wraps during the run
        for (int i = 0; i < 20_000; i++)
        {
            clock += random.Next(0, 3) * 1000; // many equal due times
            long due = random.NextDouble() < disorder ? clock - random.Next(0, 50_000) : clock;
            var packet = new ScheduledPacket { DueNs = due, Sequence = sequence++, RecordIndex = i };
            schedule.Push(packet);
            reference.Add(packet);
        }
        Assert.True(schedule.IsFull);
        Assert.Throws<InvalidOperationException>(() => schedule.Push(default));

        // A stable sort by due time keeps arrival order for equal times.
        List<ScheduledPacket> expected = [.. reference.OrderBy(p => p.DueNs)];
        foreach (ScheduledPacket want in expected)
        {
            Assert.Equal(want.RecordIndex, schedule.Peek().RecordIndex);
            Assert.Equal(want.RecordIndex, schedule.Pop().RecordIndex);
        }
        Assert.Equal(0, schedule.Count);
    }

    [Fact]
    public void Interleaved_pushes_and_pops_match_a_priority_queue()
    {
        var random = new Random(7);
        using var schedule = new PacketSchedule(1024);
        var model = new PriorityQueue<ScheduledPacket, (long, long)>();
        uint sequence = 0;
        long now = 0;
        for (int step = 0; step < 100_000; step++)
        {
            if (schedule.Count < 1024 && (schedule.Count == 0 || random.Next(3) != 0))
            {
                now += random.Next(0, 100);
                var packet = new ScheduledPacket { DueNs = now + random.Next(-500, 500), Sequence = sequence, RecordIndex = step };
                schedule.Push(packet);
                model.Enqueue(packet, (packet.DueNs, sequence++));
            }
            else
            {
                Assert.Equal(model.Dequeue().RecordIndex, schedule.Pop().RecordIndex);
            }
        }
    }
}
