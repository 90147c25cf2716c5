using System.Diagnostics;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Tests.Rings;

/// <summary>Many producers claiming with CAS against one consumer, on a small ring that wraps constantly.</summary>
public sealed unsafe class RecordRingConcurrencyTests
{
    private const int Producers = 4;
    private const int PerProducer = 250_000;
    private const int RecordType = 5;
    private const int AbortedType = 99;
    private const int MaxPayload = 48;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    /// <summary>Body: producer id, sequence, checksum of the payload, then the payload.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Header
    {
        public int Producer;
        public int Sequence;
        public uint Checksum;
    }

    private static long Key(int producer, int seq) => ((long)producer << 32) | (uint)seq;

    private static int PayloadLength(int producer, int seq) =>
        (int)((uint)((seq * -1640531535) ^ (producer * 40503)) % (MaxPayload + 1));

    private static uint Checksum(byte* payload, int length)
    {
        uint hash = 2166136261;
        for (int i = 0; i < length; i++)
        {
            hash = (hash ^ payload[i]) * 16777619;
        }
        return hash;
    }

    private static void WriteBody(byte* body, int producer, int seq, int payloadLength)
    {
        byte* payload = body + sizeof(Header);
        RingTestData.Fill(payload, payloadLength, Key(producer, seq));
        *(Header*)body = new Header { Producer = producer, Sequence = seq, Checksum = Checksum(payload, payloadLength) };
    }

    private sealed class Shared
    {
        public volatile string? Failure;
        public long DeadlineTicks;

        public bool Expired => Environment.TickCount64 > DeadlineTicks;

        public void Fail(string message) => Failure ??= message;
    }

    private static void Produce(RecordRing ring, int producer, Barrier start, Shared shared)
    {
        start.SignalAndWait();
        Span<byte> scratch = stackalloc byte[sizeof(Header) + MaxPayload];
        bool useTryWrite = producer % 2 == 1;
        for (int seq = 0; seq < PerProducer; seq++)
        {
            int payloadLength = PayloadLength(producer, seq);
            int bodyLength = sizeof(Header) + payloadLength;
            if (seq % 97 == 0)
            {
                // A claim given up half-written: the consumer must never see it.
                int aborted = ClaimOrFail(ring, AbortedType, MaxPayload, shared);
                if (aborted < 0)
                {
                    return;
                }
                new Span<byte>(ring.Body(aborted), MaxPayload).Fill(0xEE);
                ring.Abort(aborted);
            }
            if (useTryWrite)
            {
                fixed (byte* body = scratch)
                {
                    WriteBody(body, producer, seq, payloadLength);
                }
                int spins = 0;
                while (!ring.TryWrite(RecordType, scratch[..bodyLength]))
                {
                    if (!Backoff(ref spins, shared, producer))
                    {
                        return;
                    }
                }
            }
            else
            {
                int index = ClaimOrFail(ring, RecordType, bodyLength, shared);
                if (index < 0)
                {
                    return;
                }
                WriteBody(ring.Body(index), producer, seq, payloadLength);
                ring.Commit(index);
            }
        }
    }

    private static int ClaimOrFail(RecordRing ring, int type, int bodyLength, Shared shared)
    {
        int spins = 0;
        int index;
        while ((index = ring.TryClaim(type, bodyLength)) < 0)
        {
            if (!Backoff(ref spins, shared, -1))
            {
                return -1;
            }
        }
        return index;
    }

    /// <returns>false if the test failed or ran out of time: the caller stops.</returns>
    private static bool Backoff(ref int spins, Shared shared, int producer)
    {
        if (shared.Failure is not null)
        {
            return false;
        }
        if ((++spins & 63) == 0 && shared.Expired)
        {
            shared.Fail($"producer {producer} timed out waiting for space");
            return false;
        }
        // Two cores and five threads: give the consumer the CPU rather than spin.
        Thread.Yield();
        return true;
    }

    private struct Verifier(int[] next, Shared shared) : IRecordHandler
    {
        public long Received;

        public bool OnRecord(int type, byte* body, int length)
        {
            Received++;
            if (type != RecordType)
            {
                shared.Fail($"record of type {type} delivered (aborted records must be skipped)");
                return false;
            }
            if (length < sizeof(Header))
            {
                shared.Fail($"record of {length} bytes is shorter than its header");
                return false;
            }
            Header header = *(Header*)body;
            if ((uint)header.Producer >= (uint)next.Length)
            {
                shared.Fail($"record names producer {header.Producer}");
                return false;
            }
            int expected = next[header.Producer];
            if (header.Sequence != expected)
            {
                shared.Fail($"producer {header.Producer}: got sequence {header.Sequence}, expected {expected} (lost, duplicated or reordered)");
                return false;
            }
            int payloadLength = PayloadLength(header.Producer, header.Sequence);
            byte* payload = body + sizeof(Header);
            if (length != sizeof(Header) + payloadLength
                || Checksum(payload, payloadLength) != header.Checksum
                || RingTestData.FirstMismatch(payload, payloadLength, Key(header.Producer, header.Sequence)) >= 0)
            {
                shared.Fail($"producer {header.Producer} sequence {header.Sequence}: body corrupted (length {length})");
                return false;
            }
            next[header.Producer] = expected + 1;
            return true;
        }
    }

    [Fact]
    public void Racing_producers_deliver_every_record_once_intact_and_in_per_producer_order()
    {
        using var memory = new RingMemory(64 * 1024);
        RecordRing ring = memory.Ring;
        var clock = Stopwatch.StartNew();
        var shared = new Shared { DeadlineTicks = Environment.TickCount64 + (long)Budget.TotalMilliseconds };
        var next = new int[Producers];
        var verifier = new Verifier(next, shared);
        const long total = (long)Producers * PerProducer;
        using var start = new Barrier(Producers + 1);

        var consumer = new Thread(() =>
        {
            start.SignalAndWait();
            int idle = 0;
            while (verifier.Received < total && shared.Failure is null)
            {
                long head = ring.HeadPositionVolatile;
                _ = ring.Read(ref verifier, 256);
                if (ring.HeadPositionVolatile != head)
                {
                    continue;
                }
                if ((++idle & 63) == 0 && shared.Expired)
                {
                    shared.Fail($"consumer timed out after {verifier.Received} of {total} records");
                    return;
                }
                Thread.Yield();
            }
        }) { IsBackground = true, Name = "ring-consumer" };

        var producers = new Thread[Producers];
        for (int p = 0; p < Producers; p++)
        {
            int id = p;
            producers[p] = new Thread(() => Produce(ring, id, start, shared)) { IsBackground = true, Name = $"ring-producer-{id}" };
            producers[p].Start();
        }
        consumer.Start();

        foreach (Thread producer in producers)
        {
            RingTestData.JoinOrFail(producer, clock, Budget, memory, producer.Name!);
        }
        RingTestData.JoinOrFail(consumer, clock, Budget, memory, "consumer");

        Assert.True(shared.Failure is null, shared.Failure);
        Assert.Equal(total, verifier.Received);
        Assert.All(next, n => Assert.Equal(PerProducer, n));
        Assert.Equal(0, ring.OccupiedBytes);
        Assert.True(ring.TailPositionVolatile > 100L * ring.Capacity, "the ring wrapped many times");
    }
}
