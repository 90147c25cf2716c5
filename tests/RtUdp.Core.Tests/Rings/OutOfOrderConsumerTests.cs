using System.Diagnostics;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Tests.Rings;

public sealed unsafe class OutOfOrderConsumerTests
{
    private const int Type = 3;

    private readonly record struct Scanned(int Index, int Type, int BodyLength, long Position);

    private static List<Scanned> ScanAll(OutOfOrderConsumer consumer)
    {
        var scanned = new List<Scanned>();
        while (consumer.TryScan(out int index, out int type, out int bodyLength))
        {
            long position = consumer.ScanPosition - RingTestData.Footprint(bodyLength);
            scanned.Add(new Scanned(index, type, bodyLength, position));
            // Every record takes at least 8 bytes: more than capacity / 8 means the scan lapped the ring.
            Assert.True(scanned.Count <= consumer.Ring.Capacity / RecordDescriptor.HeaderLength,
                $"scan handed out {scanned.Count} records from a ring that holds at most {consumer.Ring.Capacity / RecordDescriptor.HeaderLength}");
        }
        return scanned;
    }

    private static void WriteRecords(RecordRing ring, IReadOnlyList<int> lengths, long firstSeq = 0)
    {
        for (int n = 0; n < lengths.Count; n++)
        {
            Assert.True(ring.TryWrite(Type + n, RingTestData.Make(lengths[n], firstSeq + n)), $"write {n}");
        }
    }

    [Fact]
    public void Scan_hands_out_records_in_ring_order_with_their_content_in_place()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        int[] lengths = [0, 5, 8, 100, 33];
        Assert.False(consumer.HasUnscanned);
        WriteRecords(ring, lengths);

        Assert.True(consumer.HasUnscanned);
        List<Scanned> scanned = ScanAll(consumer);

        Assert.Equal(lengths.Length, scanned.Count);
        long position = 0;
        for (int n = 0; n < lengths.Length; n++)
        {
            Assert.Equal(Type + n, scanned[n].Type);
            Assert.Equal(lengths[n], scanned[n].BodyLength);
            Assert.Equal(position, scanned[n].Position);
            Assert.Equal((int)position, scanned[n].Index);
            Assert.Equal(-1, RingTestData.FirstMismatch(ring.Body(scanned[n].Index), lengths[n], n));
            position += RingTestData.Footprint(lengths[n]);
        }
        Assert.Equal(position, consumer.ScanPosition);
        Assert.False(consumer.HasUnscanned);
        Assert.Equal(0, consumer.Reclaim()); // scanned is not consumed
        Assert.Equal(0, ring.HeadPositionVolatile);
    }

    [Fact]
    public void Reverse_order_consumption_releases_only_the_contiguous_consumed_prefix()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        int[] lengths = [10, 200, 0, 64, 7, 300];
        WriteRecords(ring, lengths);
        List<Scanned> scanned = ScanAll(consumer);
        int[] footprint = [.. lengths.Select(RingTestData.Footprint)];

        // Marking 5, 4, 3 and 2 releases nothing: record 0 is still in use.
        for (int n = 5; n >= 1; n--)
        {
            consumer.MarkConsumed(scanned[n].Index);
            Assert.Equal(0, consumer.Reclaim());
            Assert.Equal(0, ring.HeadPositionVolatile);
        }

        consumer.MarkConsumed(scanned[0].Index);
        long released = consumer.Reclaim();

        Assert.Equal(footprint.Sum(), released);
        Assert.Equal(footprint.Sum(), ring.HeadPositionVolatile);
        Assert.Equal(0, ring.OccupiedBytes);
        for (int i = 0; i < ring.Capacity; i++)
        {
            Assert.Equal(0, memory.Memory[i]);
        }
        AssertWholeRingReusable(ring);
    }

    [Fact]
    public void Partial_runs_are_released_exactly_as_far_as_the_first_unconsumed_record()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        int[] lengths = [16, 24, 40, 8, 0, 120];
        WriteRecords(ring, lengths);
        List<Scanned> s = ScanAll(consumer);

        consumer.MarkConsumed(s[2].Index);
        consumer.MarkConsumed(s[1].Index);
        Assert.Equal(0, consumer.Reclaim());
        consumer.MarkConsumed(s[0].Index);
        Assert.Equal(s[3].Position, consumer.Reclaim()); // records 0..2
        Assert.Equal(s[3].Position, ring.HeadPositionVolatile);
        consumer.MarkConsumed(s[5].Index);
        Assert.Equal(0, consumer.Reclaim());
        consumer.MarkConsumed(s[3].Index);
        Assert.Equal(s[4].Position - s[3].Position, consumer.Reclaim()); // record 3 only
        consumer.MarkConsumed(s[4].Index);
        Assert.Equal(consumer.ScanPosition - s[4].Position, consumer.Reclaim()); // 4 and 5
        Assert.Equal(ring.TailPositionVolatile, ring.HeadPositionVolatile);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_order_consumption_moves_the_head_by_the_consumed_prefix_only(int seed)
    {
        const int capacity = 4096;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        var rng = new Random(seed);
        var lengths = new List<int>();
        int used = 0;
        while (true)
        {
            int length = rng.Next(0, 120);
            if (used + RingTestData.Footprint(length) > capacity)
            {
                break;
            }
            used += RingTestData.Footprint(length);
            lengths.Add(length);
        }
        WriteRecords(ring, lengths);
        List<Scanned> scanned = ScanAll(consumer);
        Assert.Equal(lengths.Count, scanned.Count);

        int[] order = [.. Enumerable.Range(0, scanned.Count)];
        rng.Shuffle(order);
        var consumed = new bool[scanned.Count];
        int prefix = 0;
        foreach (int n in order)
        {
            consumer.MarkConsumed(scanned[n].Index);
            consumed[n] = true;
            long headBefore = ring.HeadPositionVolatile;
            long released = consumer.Reclaim();
            while (prefix < consumed.Length && consumed[prefix])
            {
                prefix++;
            }
            long expectedHead = prefix < scanned.Count ? scanned[prefix].Position : consumer.ScanPosition;
            Assert.Equal(expectedHead, ring.HeadPositionVolatile);
            Assert.Equal(expectedHead - headBefore, released);
        }
        Assert.Equal(0, ring.OccupiedBytes);
        AssertWholeRingReusable(ring);
    }

    /// <summary>8-byte records never need padding, so exactly capacity / 8 of them must fit.</summary>
    private static void AssertWholeRingReusable(RecordRing ring)
    {
        int written = 0;
        while (ring.TryWrite(Type, []))
        {
            written++;
            Assert.True(written <= ring.Capacity / 8, "more records fit than the ring holds");
        }
        Assert.Equal(ring.Capacity / 8, written);
        Assert.Equal(ring.Capacity, ring.OccupiedBytes);
    }

    [Fact]
    public void Full_ring_blocks_producers_until_the_held_back_head_record_is_consumed()
    {
        const int capacity = 1024;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        WriteRecords(ring, [.. Enumerable.Repeat(120, 8)]); // 8 x 128 bytes: exactly full
        Assert.Equal(capacity, ring.OccupiedBytes);

        List<Scanned> scanned = ScanAll(consumer);

        // A full ring's scan position has lapped onto the head record: it must not be handed out twice.
        Assert.Equal(8, scanned.Count);
        Assert.Equal(capacity, consumer.ScanPosition);
        Assert.False(consumer.HasUnscanned);
        Assert.False(consumer.TryScan(out _, out _, out _));

        for (int n = 1; n < 8; n++)
        {
            consumer.MarkConsumed(scanned[n].Index);
        }
        Assert.Equal(0, consumer.Reclaim());
        Assert.False(consumer.TryScan(out _, out _, out _));
        Assert.False(ring.TryWrite(Type, []));

        consumer.MarkConsumed(scanned[0].Index);
        Assert.Equal(capacity, consumer.Reclaim());

        // The whole ring is reusable: fill it again and scan the new records.
        WriteRecords(ring, [.. Enumerable.Repeat(120, 8)], firstSeq: 100);
        Assert.False(ring.TryWrite(Type, []));
        List<Scanned> again = ScanAll(consumer);
        Assert.Equal(8, again.Count);
        for (int n = 0; n < 8; n++)
        {
            Assert.Equal(n * 128, again[n].Index);
            Assert.Equal(-1, RingTestData.FirstMismatch(ring.Body(again[n].Index), 120, 100 + n));
        }
    }

    [Fact]
    public void Padding_and_aborted_records_are_skipped_by_scan_and_released_by_reclaim()
    {
        const int capacity = 4096;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        var consumer = new OutOfOrderConsumer(ring);
        WriteRecords(ring, [.. Enumerable.Repeat(392, 10)]); // tail 4000
        foreach (Scanned record in ScanAll(consumer))
        {
            consumer.MarkConsumed(record.Index);
        }
        Assert.Equal(4000, consumer.Reclaim());

        int aborted = ring.TryClaim(Type, 392); // 96 bytes of padding, then index 0
        Assert.Equal(0, aborted);
        ring.Abort(aborted);
        Assert.True(ring.TryWrite(Type + 1, RingTestData.Make(50, 7)));

        List<Scanned> scanned = ScanAll(consumer);
        Scanned only = Assert.Single(scanned);
        Assert.Equal(Type + 1, only.Type);
        Assert.Equal(400, only.Index);
        Assert.Equal(-1, RingTestData.FirstMismatch(ring.Body(only.Index), 50, 7));

        consumer.MarkConsumed(only.Index);
        Assert.Equal(96 + 400 + RingTestData.Footprint(50), consumer.Reclaim());
        Assert.Equal(0, ring.OccupiedBytes);
    }

    [Fact]
    public void Consumer_created_on_a_used_ring_starts_at_its_head()
    {
        using var memory = new RingMemory(1024);
        RecordRing ring = memory.Ring;
        WriteRecords(ring, [40, 40]);
        var reader = new CollectingHandler();
        Assert.Equal(1, ring.Read(ref reader, 1));

        var consumer = new OutOfOrderConsumer(ring);

        Assert.Equal(ring.HeadPositionVolatile, consumer.ScanPosition);
        Scanned only = Assert.Single(ScanAll(consumer));
        Assert.Equal(Type + 1, only.Type);
    }

    [Fact]
    public void Wraps_around_with_random_order_consumption_under_concurrent_producers()
    {
        const int producers = 2;
        const int perProducer = 60_000;
        const int capacity = 4096;
        var budget = TimeSpan.FromSeconds(60);
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        var clock = Stopwatch.StartNew();
        long deadline = Environment.TickCount64 + (long)budget.TotalMilliseconds;
        string? failure = null;
        using var start = new Barrier(producers + 1);

        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int id = p;
            threads[p] = new Thread(() =>
            {
                start.SignalAndWait();
                for (int seq = 0; seq < perProducer; seq++)
                {
                    int length = 8 + ((seq * 37 + id * 11) % 90);
                    int index;
                    int spins = 0;
                    while ((index = ring.TryClaim(Type + id, length)) < 0)
                    {
                        if (Volatile.Read(ref failure) is not null)
                        {
                            return;
                        }
                        if ((++spins & 63) == 0 && Environment.TickCount64 > deadline)
                        {
                            Interlocked.CompareExchange(ref failure, $"producer {id} timed out at {seq}", null);
                            return;
                        }
                        Thread.Yield();
                    }
                    byte* body = ring.Body(index);
                    *(int*)body = seq;
                    RingTestData.Fill(body + 4, length - 4, ((long)id << 32) | (uint)seq);
                    ring.Commit(index);
                }
            }) { IsBackground = true, Name = $"ooo-producer-{id}" };
            threads[p].Start();
        }

        var consumer = new OutOfOrderConsumer(ring);
        var rng = new Random(7);
        var pending = new List<Scanned>();
        var next = new int[producers];
        long seen = 0;
        int reclaims = 0;
        start.SignalAndWait();
        string? problem = null;
        while (problem is null && (seen < producers * perProducer || pending.Count > 0))
        {
            while (problem is null && consumer.TryScan(out int index, out int type, out int bodyLength))
            {
                int id = type - Type;
                byte* body = ring.Body(index);
                int seq = *(int*)body;
                if ((uint)id >= producers || seq != next[id])
                {
                    problem = $"scanned producer {id} sequence {seq}, expected {((uint)id < producers ? next[id] : -1)}: lost, duplicated or reordered";
                    break;
                }
                if (bodyLength != 8 + ((seq * 37 + id * 11) % 90)
                    || RingTestData.FirstMismatch(body + 4, bodyLength - 4, ((long)id << 32) | (uint)seq) >= 0)
                {
                    problem = $"producer {id} sequence {seq}: body corrupted";
                    break;
                }
                next[id]++;
                seen++;
                pending.Add(new Scanned(index, type, bodyLength, consumer.ScanPosition - RingTestData.Footprint(bodyLength)));
            }

            // Finish a random subset, in random order; sometimes hold the oldest back.
            int finish = pending.Count == 0 ? 0 : rng.Next(1, pending.Count + 1);
            for (int k = 0; k < finish; k++)
            {
                int pick = rng.Next(pending.Count);
                consumer.MarkConsumed(pending[pick].Index);
                pending[pick] = pending[^1];
                pending.RemoveAt(pending.Count - 1);
            }
            long headBefore = ring.HeadPositionVolatile;
            long released = consumer.Reclaim();
            reclaims++;
            long oldest = pending.Count == 0 ? consumer.ScanPosition : pending.Min(r => r.Position);
            if (ring.HeadPositionVolatile != oldest || released != oldest - headBefore)
            {
                problem ??= $"head {ring.HeadPositionVolatile} after releasing {released}, expected exactly up to the oldest unfinished record at {oldest}";
            }

            if (finish == 0)
            {
                if (Environment.TickCount64 > deadline)
                {
                    problem ??= $"consumer timed out after {seen} records; {Volatile.Read(ref failure)}";
                }
                Thread.Yield();
            }
        }
        if (problem is not null)
        {
            // Stop the producers before the ring memory goes away.
            Interlocked.CompareExchange(ref failure, problem, null);
        }

        foreach (Thread thread in threads)
        {
            RingTestData.JoinOrFail(thread, clock, budget, memory, thread.Name!);
        }
        Assert.True(problem is null, problem);
        Assert.True(failure is null, failure);
        Assert.All(next, n => Assert.Equal(perProducer, n));
        Assert.Equal(0, ring.OccupiedBytes);
        Assert.True(ring.TailPositionVolatile > 100L * capacity, "the ring wrapped many times");
        Assert.True(reclaims > 100);
    }
}
