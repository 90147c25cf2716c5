using RtUdp.Core.Engine.Send;

namespace RtUdp.Core.Tests.Engine;

public sealed class ScheduleHeapTests
{
    private static ScheduledPacket Packet(long due, uint sequence, int recordIndex) =>
        new() { DueNs = due, Sequence = sequence, RecordIndex = recordIndex };

    /// <summary>Pushes items (record index = arrival number) and checks pops against a stable sort by due time.</summary>
    private static void AssertPopsInDueThenArrivalOrder(long[] dues, uint firstSequence)
    {
        using var heap = new ScheduleHeap(dues.Length);
        uint sequence = firstSequence;
        for (int i = 0; i < dues.Length; i++)
        {
            heap.Push(Packet(dues[i], sequence++, i));
        }
        Assert.True(heap.IsFull);
        Assert.Equal(dues.Length, heap.Count);

        // OrderBy is a stable sort: equal due times keep arrival order.
        int[] expected = [.. Enumerable.Range(0, dues.Length).OrderBy(i => dues[i])];
        for (int n = 0; n < expected.Length; n++)
        {
            long peeked = heap.Peek().DueNs;
            ScheduledPacket popped = heap.Pop();
            Assert.Equal(peeked, popped.DueNs);
            if (popped.RecordIndex != expected[n])
            {
                Assert.Fail($"pop {n}: got arrival {popped.RecordIndex} (due {popped.DueNs}), expected arrival {expected[n]} (due {dues[expected[n]]})");
            }
            Assert.Equal(unchecked(firstSequence + (uint)expected[n]), popped.Sequence);
        }
        Assert.Equal(0, heap.Count);
    }

    [Theory]
    [InlineData(1, 100_000, 1000)]
    [InlineData(2, 100_000, 10)]
    [InlineData(3, 5_000, 1)]
    [InlineData(4, 100_000, long.MaxValue)]
    public void Random_due_times_with_duplicates_pop_in_due_then_arrival_order(int seed, int count, long distinctDues)
    {
        var rng = new Random(seed);
        long[] dues = [.. Enumerable.Range(0, count).Select(_ => rng.NextInt64(distinctDues))];

        AssertPopsInDueThenArrivalOrder(dues, 0);
    }

    [Theory]
    [InlineData(uint.MaxValue - 50_000)]
    [InlineData(uint.MaxValue)]
    [InlineData(int.MaxValue - 10_000u)] // signed midpoint: (int) casts change sign here
    public void Sequence_numbers_that_wrap_still_order_by_arrival(uint firstSequence)
    {
        var rng = new Random(5);
        long[] dues = [.. Enumerable.Range(0, 100_000).Select(_ => rng.NextInt64(50))];

        AssertPopsInDueThenArrivalOrder(dues, firstSequence);
    }

    [Fact]
    public void Equal_due_times_across_the_sequence_wrap_pop_in_push_order()
    {
        using var heap = new ScheduleHeap(64);
        uint sequence = uint.MaxValue - 31;
        for (int i = 0; i < 64; i++)
        {
            heap.Push(Packet(1000, sequence++, i));
        }

        for (int i = 0; i < 64; i++)
        {
            Assert.Equal(i, heap.Pop().RecordIndex);
        }
    }

    [Fact]
    public void Interleaved_pushes_and_pops_match_a_reference_priority_queue()
    {
        const int capacity = 1000;
        var rng = new Random(11);
        using var heap = new ScheduleHeap(capacity);
        var reference = new PriorityQueue<ScheduledPacket, (long Due, long Arrival)>();
        uint sequence = uint.MaxValue - 40_000; // wraps during the run
        long arrival = 0;
        long now = 0;
        for (int step = 0; step < 100_000; step++)
        {
            bool push = heap.Count == 0 || (!heap.IsFull && rng.Next(3) != 0);
            if (push)
            {
                // Due times move forward like a schedule, with many ties.
                var packet = Packet(now + rng.Next(0, 64), sequence++, step);
                heap.Push(packet);
                reference.Enqueue(packet, (packet.DueNs, arrival++));
            }
            else
            {
                ScheduledPacket expected = reference.Dequeue();
                ScheduledPacket actual = heap.Pop();
                Assert.Equal(expected, actual);
                now = actual.DueNs;
            }
            Assert.Equal(reference.Count, heap.Count);
        }
        while (reference.Count > 0)
        {
            Assert.Equal(reference.Dequeue(), heap.Pop());
        }
    }

    [Fact]
    public void Push_on_a_full_heap_throws_and_leaves_it_intact()
    {
        using var heap = new ScheduleHeap(3);
        heap.Push(Packet(30, 0, 0));
        heap.Push(Packet(10, 1, 1));
        Assert.False(heap.IsFull);
        heap.Push(Packet(20, 2, 2));
        Assert.True(heap.IsFull);
        Assert.Equal(3, heap.Capacity);

        Assert.Throws<InvalidOperationException>(() => heap.Push(Packet(0, 3, 3)));

        Assert.Equal(3, heap.Count);
        Assert.Equal([1, 2, 0], new[] { heap.Pop().RecordIndex, heap.Pop().RecordIndex, heap.Pop().RecordIndex });
        Assert.False(heap.IsFull);
        heap.Push(Packet(5, 4, 4)); // space again after pops
        Assert.Equal(4, heap.Pop().RecordIndex);
    }

    [Fact]
    public void Capacity_one_heap_works()
    {
        using var heap = new ScheduleHeap(1);
        heap.Push(Packet(7, 0, 42));
        Assert.True(heap.IsFull);
        Assert.Throws<InvalidOperationException>(() => heap.Push(Packet(1, 1, 1)));
        Assert.Equal(42, heap.Peek().RecordIndex);
        Assert.Equal(42, heap.Pop().RecordIndex);
        Assert.Equal(0, heap.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Non_positive_capacity_throws(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(nameof(capacity), () => new ScheduleHeap(capacity));
    }

    [Fact]
    public void Dispose_twice_is_harmless()
    {
        var heap = new ScheduleHeap(4);
        heap.Dispose();
        heap.Dispose();
    }
}
