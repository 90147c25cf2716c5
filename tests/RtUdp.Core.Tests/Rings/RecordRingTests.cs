using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Tests.Rings;

public sealed unsafe class RecordRingTests
{
    private const int Type = 7;

    private static CollectingHandler ReadAll(RecordRing ring, int limit = int.MaxValue)
    {
        var handler = new CollectingHandler();
        // A Read goes on past the buffer end once: loop until the head stops moving, for reads that need more.
        long head;
        do
        {
            head = ring.HeadPositionVolatile;
            _ = ring.Read(ref handler, limit - handler.Records.Count);
        }
        while (handler.Records.Count < limit && ring.HeadPositionVolatile != head);
        return handler;
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    public void Round_trip_of_every_interesting_length_keeps_type_length_and_content(int capacity)
    {
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        int max = ring.MaxBodyLength;
        Assert.Equal(Math.Min(capacity / 8, 1 << 20) - RecordDescriptor.HeaderLength, max);
        var lengths = new List<int>();
        for (int length = 0; length <= 40; length++)
        {
            lengths.Add(length);
        }
        lengths.AddRange(new[] { 63, 64, 65, 127, 128, 129, max / 2, max - 9, max - 8, max - 7, max - 1, max }.Where(l => l > 40 && l <= max).Distinct());

        long expectedTail = 0;
        for (int n = 0; n < lengths.Count; n++)
        {
            int length = lengths[n];
            Assert.True(ring.TryWrite(n + 1, RingTestData.Make(length, n)), $"write of {length} bytes");
            long tail = ring.TailPositionVolatile;
            Assert.True(tail - expectedTail >= RingTestData.Footprint(length), "tail advanced by at least the aligned record");
            expectedTail = tail;

            CollectingHandler handler = ReadAll(ring);

            SeenRecord seen = Assert.Single(handler.Records);
            Assert.Equal(n + 1, seen.Type);
            Assert.Equal(RingTestData.Make(length, n), seen.Body);
            Assert.Equal(0, ring.OccupiedBytes);
            Assert.Equal(ring.TailPositionVolatile, ring.HeadPositionVolatile);
        }
    }

    [Fact]
    public void Batched_records_are_read_in_order_and_limit_and_handler_stop_are_honoured()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        for (int n = 0; n < 10; n++)
        {
            Assert.True(ring.TryWrite(n + 1, RingTestData.Make(n * 3, n)));
        }

        var first = new CollectingHandler();
        Assert.Equal(3, ring.Read(ref first, 3));
        var stopping = new CollectingHandler { StopAfter = 2 };
        Assert.Equal(2, ring.Read(ref stopping, 100));
        var none = new CollectingHandler();
        Assert.Equal(0, ring.Read(ref none, 0));
        CollectingHandler rest = ReadAll(ring);

        List<SeenRecord> all = [.. first.Records, .. stopping.Records, .. rest.Records];
        Assert.Equal(10, all.Count);
        for (int n = 0; n < 10; n++)
        {
            Assert.Equal(n + 1, all[n].Type);
            Assert.Equal(RingTestData.Make(n * 3, n), all[n].Body);
        }
        Assert.Equal(0, ring.OccupiedBytes);
    }

    /// <summary>Writes pseudo-random lengths through a small ring and checks each record in order.</summary>
    private static (long Laps, int Paddings) WrapAround(bool singleProducer, int records, int seed)
    {
        const int capacity = 4096;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        var rng = new Random(seed);
        var pending = new Queue<(long Seq, int Length)>();
        var verifier = new SequenceVerifier(pending);
        long written = 0;
        int paddings = 0;

        while (written < records || pending.Count > 0)
        {
            // Produce until full (or done), then consume a random number of records.
            while (written < records)
            {
                int length = rng.Next(0, ring.MaxBodyLength + 1);
                int type = (int)(written % 1000) + 1;
                long tailBefore = ring.TailPositionVolatile;
                int index = singleProducer ? ring.TryClaimSingleProducer(type, length) : ring.TryClaim(type, length);
                if (index < 0)
                {
                    // Single-threaded, so the refusal must be exact: not enough free space in all, or
                    // neither the rest of the buffer nor the start up to the head can hold the record.
                    int need = RingTestData.Footprint(length);
                    long free = capacity - ring.OccupiedBytes;
                    long atEnd = capacity - (ring.TailPositionVolatile % capacity);
                    long atStart = ring.HeadPositionVolatile % capacity;
                    Assert.False(need <= free && (need <= atEnd || need <= atStart),
                        $"claim of {need} bytes refused with {free} free ({atEnd} at the end, {atStart} at the start)");
                    break;
                }
                long advanced = ring.TailPositionVolatile - tailBefore;
                int footprint = RingTestData.Footprint(length);
                if (advanced != footprint)
                {
                    // Padding: the record moved to the buffer start and the tail skipped the rest of the lap.
                    paddings++;
                    Assert.Equal(0, index);
                    Assert.Equal(0, (tailBefore + advanced - footprint) % capacity);
                }
                else
                {
                    Assert.Equal((int)(tailBefore % capacity), index);
                }
                RingTestData.Fill(ring.Body(index), length, written);
                ring.Commit(index);
                pending.Enqueue((written, length));
                written++;
            }
            int limit = rng.Next(1, 20);
            _ = ring.Read(ref verifier, limit);
            Assert.True(verifier.Failure is null, verifier.Failure);
        }

        Assert.Equal(records, verifier.Count);
        Assert.Equal(0, ring.OccupiedBytes);
        return (ring.TailPositionVolatile / capacity, paddings);
    }

    private unsafe struct SequenceVerifier(Queue<(long Seq, int Length)> pending) : IRecordHandler
    {
        public long Count;
        public string? Failure;

        public bool OnRecord(int type, byte* body, int length)
        {
            if (!pending.TryDequeue(out (long Seq, int Length) expected))
            {
                Failure ??= "record read that was never written";
                return false;
            }
            if (type != (int)(expected.Seq % 1000) + 1 || length != expected.Length)
            {
                Failure ??= $"record {expected.Seq}: type {type} length {length}, expected length {expected.Length}";
            }
            else if (RingTestData.FirstMismatch(body, length, expected.Seq) is int at and >= 0)
            {
                Failure ??= $"record {expected.Seq}: byte {at} corrupted";
            }
            Count++;
            return true;
        }
    }

    [Fact]
    public void Wraps_around_many_times_with_padding_and_every_record_arrives_in_order()
    {
        (long laps, int paddings) = WrapAround(singleProducer: false, records: 100_000, seed: 12345);

        Assert.True(laps > 1000, $"tail passed the capacity only {laps} times");
        Assert.True(paddings > 500, $"padding path taken only {paddings} times");
    }

    [Fact]
    public void Single_producer_claim_wraps_around_with_padding_too()
    {
        (long laps, int paddings) = WrapAround(singleProducer: true, records: 100_000, seed: 54321);

        Assert.True(laps > 1000, $"tail passed the capacity only {laps} times");
        Assert.True(paddings > 500, $"padding path taken only {paddings} times");
    }

    [Fact]
    public void Single_producer_claim_places_records_exactly_as_the_CAS_claim_does()
    {
        using var a = new RingMemory(2048);
        using var b = new RingMemory(2048);
        var rng = new Random(99);
        for (int n = 0; n < 20_000; n++)
        {
            int length = rng.Next(0, a.Ring.MaxBodyLength + 1);
            int ia = a.Ring.TryClaim(Type, length);
            int ib = b.Ring.TryClaimSingleProducer(Type, length);
            Assert.Equal(ia, ib);
            Assert.Equal(a.Ring.TailPositionVolatile, b.Ring.TailPositionVolatile);
            if (ia >= 0)
            {
                RingTestData.Fill(a.Ring.Body(ia), length, n);
                RingTestData.Fill(b.Ring.Body(ib), length, n);
                a.Ring.Commit(ia);
                b.Ring.Commit(ib);
            }
            if (ia < 0 || rng.Next(3) == 0)
            {
                int limit = rng.Next(1, 8);
                var ha = new CollectingHandler();
                var hb = new CollectingHandler();
                Assert.Equal(a.Ring.Read(ref ha, limit), b.Ring.Read(ref hb, limit));
                Assert.Equal(ha.Records, hb.Records, (x, y) => x.Type == y.Type && x.Body.AsSpan().SequenceEqual(y.Body));
                Assert.Equal(a.Ring.HeadPositionVolatile, b.Ring.HeadPositionVolatile);
            }
        }
        Assert.True(a.Ring.TailPositionVolatile > 100L * 2048);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Full_ring_refuses_claims_and_recovers_after_a_read(bool singleProducer)
    {
        const int capacity = 1024;
        const int body = 120; // 128-byte records: exactly 8 fill the ring
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        int Claim(int length) => singleProducer ? ring.TryClaimSingleProducer(Type, length) : ring.TryClaim(Type, length);

        for (int n = 0; n < 8; n++)
        {
            int index = Claim(body);
            Assert.Equal(n * 128, index);
            RingTestData.Fill(ring.Body(index), body, n);
            ring.Commit(index);
        }

        Assert.Equal(capacity, ring.OccupiedBytes);
        Assert.Equal(-1, Claim(0));
        Assert.Equal(-1, Claim(body));
        Assert.False(ring.TryWrite(Type, []));
        Assert.Equal(capacity, ring.TailPositionVolatile);

        CollectingHandler one = ReadAll(ring, 1);
        Assert.Equal(RingTestData.Make(body, 0), Assert.Single(one.Records).Body);

        // The released 128 bytes at the start take exactly one more record; then full again.
        int again = Claim(body);
        Assert.Equal(0, again);
        RingTestData.Fill(ring.Body(again), body, 8);
        ring.Commit(again);
        Assert.Equal(-1, Claim(0));

        CollectingHandler rest = ReadAll(ring);
        Assert.Equal(8, rest.Records.Count);
        for (int n = 0; n < 8; n++)
        {
            Assert.Equal(RingTestData.Make(body, n + 1), rest.Records[n].Body);
        }
        Assert.Equal(0, ring.OccupiedBytes);
    }

    /// <summary>400-byte records: ten of them leave 96 bytes before the end of a 4096-byte ring.</summary>
    private const int TenRecordsBody = 392;

    /// <summary>Records 0..9 of <see cref="TenRecordsBody"/> bytes into an empty 4096-byte ring: the next needs padding.</summary>
    private static void WriteTenRecords(RecordRing ring)
    {
        for (int n = 0; n < 10; n++)
        {
            Assert.True(ring.TryWrite(Type, RingTestData.Make(TenRecordsBody, n)));
        }
    }

    [Fact]
    public void Padding_record_fills_the_ring_to_exactly_its_capacity()
    {
        const int capacity = 4096;
        const int body = TenRecordsBody;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        WriteTenRecords(ring);
        Assert.Equal(4000, ring.TailPositionVolatile);
        Assert.False(ring.TryWrite(Type, RingTestData.Make(body, 99)), "400 bytes fit neither in the 96 at the end nor at the start");
        Assert.Equal(4000, ring.TailPositionVolatile);
        Assert.Single(ReadAll(ring, 1).Records);

        // Needs 96 bytes of padding plus the 400 bytes freed at the start: exactly the free space.
        int index = ring.TryClaim(Type, body);
        Assert.Equal(0, index);
        Assert.Equal(4000 + 96 + 400, ring.TailPositionVolatile);
        Assert.Equal(capacity, ring.OccupiedBytes);
        RingTestData.Fill(ring.Body(index), body, 10);
        ring.Commit(index);
        Assert.Equal(-1, ring.TryClaim(Type, 0));

        CollectingHandler rest = ReadAll(ring);
        Assert.Equal(10, rest.Records.Count); // the padding is not handed out
        for (int n = 0; n < 10; n++)
        {
            Assert.Equal(RingTestData.Make(body, n + 1), rest.Records[n].Body);
        }
        Assert.Equal(ring.TailPositionVolatile, ring.HeadPositionVolatile);
    }

    [Fact]
    public void A_read_of_one_record_that_meets_the_padding_takes_the_record_at_the_start()
    {
        // The daemon's receive asks for one packet at a time: meeting the padding before the buffer end must not
        // look like an empty ring while records wait at the start (a receive with no wait returned nothing).
        const int capacity = 4096;
        const int body = TenRecordsBody;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        WriteTenRecords(ring);
        var first = new CollectingHandler();
        Assert.Equal(10, ring.Read(ref first, 10)); // head 4000: the next record will need padding
        Assert.True(ring.TryWrite(Type, RingTestData.Make(body, 10))); // 96 bytes of padding, then index 0
        Assert.True(ring.TryWrite(Type, RingTestData.Make(body, 11)));

        var one = new CollectingHandler();
        Assert.Equal(1, ring.Read(ref one, 1));
        Assert.Equal(RingTestData.Make(body, 10), one.Records[0].Body);
        Assert.Equal(4096 + 400, ring.HeadPositionVolatile);

        var rest = new CollectingHandler();
        Assert.Equal(1, ring.Read(ref rest, 10));
        Assert.Equal(RingTestData.Make(body, 11), rest.Records[0].Body);
        Assert.Equal(ring.TailPositionVolatile, ring.HeadPositionVolatile);
    }

    [Fact]
    public void Record_that_must_wrap_needs_contiguous_space_at_the_start()
    {
        const int capacity = 4096;
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;
        for (int n = 0; n < 9; n++)
        {
            Assert.True(ring.TryWrite(Type, RingTestData.Make(392, n)));
        }
        Assert.Single(ReadAll(ring, 1).Records); // head 400, tail 3600: 496 free at the end, 400 at the start

        Assert.Equal(-1, ring.TryClaim(Type, 496)); // 504 bytes: 896 free in all, but not contiguously
        Assert.Equal(-1, ring.TryClaimSingleProducer(Type, 496));
        Assert.Equal(3600, ring.TailPositionVolatile);

        int end = ring.TryClaim(Type, 488); // 496 bytes: exactly the rest of the buffer, no padding
        Assert.Equal(3600, end);
        ring.Commit(end);
        Assert.Equal(capacity, ring.TailPositionVolatile);

        int start = ring.TryClaim(Type, 392); // exactly the 400 bytes before the head
        Assert.Equal(0, start);
        ring.Commit(start);
        Assert.Equal(capacity, ring.OccupiedBytes);
        Assert.Equal(10, ReadAll(ring).Records.Count);
    }

    [Fact]
    public void Aborted_records_are_skipped_and_an_unpublished_record_holds_back_those_after_it()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        int a = ring.TryClaim(1, 16);
        int b = ring.TryClaim(2, 16);
        int c = ring.TryClaimSingleProducer(3, 16);
        RingTestData.Fill(ring.Body(a), 16, 1);
        RingTestData.Fill(ring.Body(c), 16, 3);
        ring.Commit(c);
        ring.Abort(b);

        var blocked = new CollectingHandler();
        Assert.Equal(0, ring.Read(ref blocked, 10));
        Assert.Equal(0, ring.HeadPositionVolatile);

        ring.Commit(a);
        int aborted = ring.TryClaim(4, 0);
        ring.Abort(aborted);
        CollectingHandler all = ReadAll(ring);

        Assert.Equal([1, 3], all.Records.Select(r => r.Type));
        Assert.Equal(RingTestData.Make(16, 1), all.Records[0].Body);
        Assert.Equal(RingTestData.Make(16, 3), all.Records[1].Body);
        Assert.Equal(0, ring.OccupiedBytes); // aborted space is released too
        Assert.Equal((3 * 24) + 8, ring.HeadPositionVolatile);
    }

    [Fact]
    public void Released_space_is_zeroed_so_a_new_claim_reads_as_unpublished()
    {
        using var memory = new RingMemory(1024);
        RecordRing ring = memory.Ring;
        Assert.True(ring.TryWrite(Type, RingTestData.Make(100, 1)));
        Assert.Single(ReadAll(ring).Records);

        for (int i = 0; i < 1024; i++)
        {
            Assert.Equal(0, memory.Memory[i]);
        }
        Assert.False(ring.HasPublishedAt(ring.HeadPositionVolatile));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(RecordDescriptor.PaddingType)]
    [InlineData(RecordDescriptor.ConsumedType)]
    [InlineData(int.MinValue)]
    public void Non_positive_type_throws(int type)
    {
        using var memory = new RingMemory(1024);
        RecordRing ring = memory.Ring;

        Assert.Throws<ArgumentOutOfRangeException>(nameof(type), () => ring.TryClaim(type, 0));
        Assert.Throws<ArgumentOutOfRangeException>(nameof(type), () => ring.TryClaimSingleProducer(type, 0));
        Assert.Throws<ArgumentOutOfRangeException>(nameof(type), () => ring.TryWrite(type, new byte[4]));
        Assert.Equal(0, ring.TailPositionVolatile);
    }

    [Theory]
    [InlineData(1024, -1)]
    [InlineData(1024, 121)]
    [InlineData(1024, int.MaxValue)]
    [InlineData(1024, int.MinValue)]
    [InlineData(1 << 24, (1 << 20) - 7)]
    public void Oversized_or_negative_body_throws(int capacity, int bodyLength)
    {
        using var memory = new RingMemory(capacity);
        RecordRing ring = memory.Ring;

        Assert.Throws<ArgumentOutOfRangeException>(nameof(bodyLength), () => ring.TryClaim(Type, bodyLength));
        Assert.Throws<ArgumentOutOfRangeException>(nameof(bodyLength), () => ring.TryClaimSingleProducer(Type, bodyLength));
        if (bodyLength > 0 && bodyLength < 1 << 21)
        {
            Assert.Throws<ArgumentOutOfRangeException>(nameof(bodyLength), () => ring.TryWrite(Type, new byte[bodyLength]));
        }
        Assert.Equal(0, ring.TailPositionVolatile);
        Assert.True(ring.TryWrite(Type, new byte[ring.MaxBodyLength]), "the largest legal body still fits");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(512)]
    [InlineData(1000)]
    [InlineData(3072)]
    [InlineData((1 << 30) + 1)]
    [InlineData(int.MaxValue)]
    public void Invalid_capacity_throws(int capacity)
    {
        Assert.False(RecordRing.IsValidCapacity(capacity));
        Assert.Throws<ArgumentOutOfRangeException>(nameof(capacity), () => new RecordRing(null, capacity));
    }
}
