using System.Diagnostics;
using RtUdp.Core.Contract.Concurrency;
using RtUdp.Core.Native;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Tests.Rings;

/// <summary>The ring's <see cref="EventCount"/> between a parking consumer and signalling producers.</summary>
public sealed unsafe class RingEventCountTests
{
    private const long Millisecond = 1_000_000;
    private const long Second = 1000 * Millisecond;
    private const int Type = 1;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);

    /// <summary>Spins (yielding) until the consumer has announced its park, or fails the test.</summary>
    private static void AwaitParked(RingMemory memory, Thread consumer, Stopwatch clock)
    {
        while (Volatile.Read(ref *memory.ParkedWord) == 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10) || !consumer.IsAlive)
            {
                memory.Abandon();
                Assert.Fail("consumer never announced its park");
            }
            Thread.Yield();
        }
    }

    private sealed class ParkResult
    {
        public bool Woken;
        public bool FoundWorkBeforeParking;
        public long ElapsedNs;
        public int Records;
    }

    /// <summary>The consumer side of the protocol: prepare, re-check the ring, then sleep.</summary>
    private static Thread StartParkingConsumer(RecordRing ring, long timeoutNs, ParkResult result)
    {
        var thread = new Thread(() =>
        {
            EventCount wait = ring.ConsumerWait;
            int ticket = wait.PrepareWait();
            if (ring.HasPublishedAt(ring.HeadPositionVolatile))
            {
                wait.CancelWait();
                result.FoundWorkBeforeParking = true;
                return;
            }
            long start = Libc.MonotonicNow();
            result.Woken = wait.Wait(ticket, start + timeoutNs);
            result.ElapsedNs = Libc.MonotonicNow() - start;
            var handler = new CollectingHandler();
            result.Records = ring.Read(ref handler, 10);
        }) { IsBackground = true, Name = "parking-consumer" };
        thread.Start();
        return thread;
    }

    [Fact]
    public void Producer_signal_after_write_wakes_a_consumer_parked_with_a_far_deadline()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var clock = Stopwatch.StartNew();
        var result = new ParkResult();
        Thread consumer = StartParkingConsumer(ring, 60 * Second, result);

        AwaitParked(memory, consumer, clock);
        Assert.True(ring.TryWrite(Type, RingTestData.Make(32, 1)));
        ring.ConsumerWait.Signal();
        RingTestData.JoinOrFail(consumer, clock, Budget, memory, "parked consumer");

        Assert.False(result.FoundWorkBeforeParking);
        Assert.True(result.Woken, "Wait reported a timeout");
        Assert.True(result.ElapsedNs < 20 * Second, $"woken only after {result.ElapsedNs / Millisecond} ms");
        Assert.Equal(1, result.Records);
        Assert.Equal(0, *memory.ParkedWord);
    }

    [Fact]
    public void ForceWake_wakes_a_parked_consumer_with_nothing_to_read()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var clock = Stopwatch.StartNew();
        var result = new ParkResult();
        Thread consumer = StartParkingConsumer(ring, 60 * Second, result);

        AwaitParked(memory, consumer, clock);
        ring.ConsumerWait.ForceWake();
        RingTestData.JoinOrFail(consumer, clock, Budget, memory, "parked consumer");

        Assert.True(result.Woken, "Wait reported a timeout");
        Assert.True(result.ElapsedNs < 20 * Second, $"woken only after {result.ElapsedNs / Millisecond} ms");
        Assert.Equal(0, result.Records);
        Assert.Equal(0, *memory.ParkedWord);
    }

    [Fact]
    public void Cancelled_wait_clears_the_park_flag_so_signal_takes_no_wake_path()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        EventCount wait = ring.ConsumerWait;
        int sequence = *memory.SequenceWord;

        int ticket = wait.PrepareWait();
        Assert.Equal(sequence, ticket);
        Assert.Equal(1, *memory.ParkedWord);
        wait.CancelWait();
        Assert.Equal(0, *memory.ParkedWord);

        Assert.True(ring.TryWrite(Type, []));
        wait.Signal();

        // Only the wake path bumps the sequence (before its FUTEX_WAKE): unchanged means no syscall.
        Assert.Equal(sequence, *memory.SequenceWord);
        // And the stale ticket is still current: a wait on it sleeps until its (near) deadline.
        Assert.False(wait.Wait(ticket, Libc.MonotonicNow() + (20 * Millisecond)));
        Assert.Equal(0, *memory.ParkedWord);
    }

    [Fact]
    public void Signal_between_prepare_and_wait_makes_the_wait_return_at_once()
    {
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        EventCount wait = ring.ConsumerWait;

        int ticket = wait.PrepareWait();
        Assert.True(ring.TryWrite(Type, []));
        wait.Signal();
        Assert.Equal(ticket + 1, *memory.SequenceWord);

        long start = Libc.MonotonicNow();
        Assert.True(wait.Wait(ticket, start + (60 * Second)));
        Assert.True(Libc.MonotonicNow() - start < 20 * Second);
        Assert.Equal(0, *memory.ParkedWord);
    }

    [Fact]
    public void Wait_with_a_past_deadline_times_out_and_unparks()
    {
        using var memory = new RingMemory(4096);
        EventCount wait = memory.Ring.ConsumerWait;

        int ticket = wait.PrepareWait();

        Assert.False(wait.Wait(ticket, Libc.MonotonicNow() - Millisecond));
        Assert.Equal(0, *memory.ParkedWord);
    }

    [Fact]
    public void No_wakeup_is_lost_over_many_write_signal_rounds()
    {
        const int rounds = 100_000;
        using var memory = new RingMemory(4096);
        RecordRing ring = memory.Ring;
        var clock = Stopwatch.StartNew();
        long deadline = Environment.TickCount64 + (long)Budget.TotalMilliseconds;
        long consumed = 0;
        int timeouts = 0;
        int parks = 0;
        string? failure = null;
        using var start = new Barrier(2);

        var consumer = new Thread(() =>
        {
            EventCount wait = ring.ConsumerWait;
            var handler = new CountingHandler();
            start.SignalAndWait();
            while (Volatile.Read(ref consumed) < rounds && Volatile.Read(ref failure) is null)
            {
                if (ring.Read(ref handler, int.MaxValue) > 0)
                {
                    if (handler.Mismatch is not null)
                    {
                        Interlocked.CompareExchange(ref failure, handler.Mismatch, null);
                        return;
                    }
                    Volatile.Write(ref consumed, handler.Count);
                    continue;
                }
                int ticket = wait.PrepareWait();
                // Re-check after announcing the park: a producer either saw us parked or we see its record.
                if (ring.HasPublishedAt(ring.HeadPositionVolatile))
                {
                    wait.CancelWait();
                    continue;
                }
                parks++;
                if (!wait.Wait(ticket, Libc.MonotonicNow() + (5 * Second)))
                {
                    timeouts++;
                }
                if (Environment.TickCount64 > deadline)
                {
                    Interlocked.CompareExchange(ref failure, $"consumer ran out of time after {consumed} rounds", null);
                }
            }
        }) { IsBackground = true, Name = "event-consumer" };

        var producer = new Thread(() =>
        {
            EventCount wait = ring.ConsumerWait;
            byte[] body = new byte[8];
            start.SignalAndWait();
            for (int round = 0; round < rounds; round++)
            {
                BitConverter.TryWriteBytes(body, (long)round);
                if (!ring.TryWrite(Type, body))
                {
                    Interlocked.CompareExchange(ref failure, $"ring full at round {round}", null);
                    return;
                }
                wait.Signal();
                // Wait for the consumer to take it, so that it goes back to parking every round.
                int spins = 0;
                while (Volatile.Read(ref consumed) <= round)
                {
                    if (Volatile.Read(ref failure) is not null)
                    {
                        return;
                    }
                    if ((++spins & 255) == 0 && Environment.TickCount64 > deadline)
                    {
                        Interlocked.CompareExchange(ref failure, $"producer ran out of time at round {round}", null);
                        return;
                    }
                    Thread.SpinWait(20);
                    if ((spins & 15) == 0)
                    {
                        Thread.Yield();
                    }
                }
            }
        }) { IsBackground = true, Name = "event-producer" };

        consumer.Start();
        producer.Start();
        RingTestData.JoinOrFail(producer, clock, Budget + TimeSpan.FromSeconds(10), memory, "producer");
        RingTestData.JoinOrFail(consumer, clock, Budget + TimeSpan.FromSeconds(10), memory, "consumer");

        Assert.True(failure is null, failure);
        Assert.Equal(0, timeouts);
        Assert.Equal(rounds, consumed);
        Assert.True(parks > 0, "the consumer never parked: the test exercised nothing");
    }

    private struct CountingHandler : IRecordHandler
    {
        public long Count;
        public string? Mismatch;

        public bool OnRecord(int type, byte* body, int length)
        {
            if (length != sizeof(long) || *(long*)body != Count)
            {
                Mismatch ??= $"record {*(long*)body} ({length} bytes) arrived as number {Count}";
                return false;
            }
            Count++;
            return true;
        }
    }
}
