using System.Runtime.InteropServices;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Tests.Timestamping;

public sealed unsafe class SeqLockedOffsetTests : IDisposable
{
    private readonly void* _memory = NativeMemory.AlignedAlloc(SeqLockedOffset.Size, 64);

    public SeqLockedOffsetTests() => NativeMemory.Clear(_memory, SeqLockedOffset.Size);

    public void Dispose() => NativeMemory.AlignedFree(_memory);

    [Fact]
    public void Nothing_published_reads_false_then_the_published_value()
    {
        var seqlock = new SeqLockedOffset(_memory);
        Assert.False(seqlock.TryRead(out _));

        seqlock.Publish(new ClockOffset(-5, 7, 11));

        Assert.True(seqlock.TryRead(out ClockOffset read));
        Assert.Equal(-5, read.OffsetNs);
        Assert.Equal(7, read.UncertaintyNs);
        Assert.Equal(11, read.SampledAtMonotonicNs);
        Assert.Equal(2, seqlock.Sequence);
        Assert.Equal(1, seqlock.Version);
        // A second handle over the same memory sees the same value.
        Assert.True(new SeqLockedOffset(_memory).TryRead(out ClockOffset again));
        Assert.Equal(read, again);
    }

    [Fact]
    public void A_writer_stuck_mid_publish_bounds_the_reader()
    {
        var seqlock = new SeqLockedOffset(_memory);
        seqlock.Publish(new ClockOffset(1, 2, 3));
        *(long*)_memory = 3; // odd: a publish that never finished

        Assert.False(seqlock.TryRead(out _, maxAttempts: 100));
    }

    [Fact]
    public void Misaligned_or_null_memory_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new SeqLockedOffset((byte*)_memory + 4));
        Assert.Throws<ArgumentNullException>(() => new SeqLockedOffset(null));
    }

    [Fact]
    public void Readers_never_see_a_torn_tuple()
    {
        var seqlock = new SeqLockedOffset(_memory);
        seqlock.Publish(Tuple(1));
        using var stop = new CancellationTokenSource();
        long torn = 0;
        long reads = 0;
        long backwards = 0;
        long published = 0;

        var writer = new Thread(() =>
        {
            for (long i = 2; !stop.IsCancellationRequested; i++)
            {
                seqlock.Publish(Tuple(i));
                published = i;
            }
        });
        var readers = new Thread[2];
        for (int r = 0; r < readers.Length; r++)
        {
            readers[r] = new Thread(() =>
            {
                long last = 0;
                while (!stop.IsCancellationRequested)
                {
                    if (!seqlock.TryRead(out ClockOffset o))
                    {
                        continue;
                    }

                    Interlocked.Increment(ref reads);
                    long i = o.OffsetNs;
                    if (o.UncertaintyNs != i * 3 || o.SampledAtMonotonicNs != ~i)
                    {
                        Interlocked.Increment(ref torn);
                    }

                    if (i < last)
                    {
                        Interlocked.Increment(ref backwards);
                    }

                    last = i;
                }
            });
        }

        writer.Start();
        foreach (Thread t in readers)
        {
            t.Start();
        }

        Thread.Sleep(1500);
        stop.Cancel();
        Assert.True(writer.Join(TimeSpan.FromSeconds(10)));
        foreach (Thread t in readers)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(0, torn);
        Assert.Equal(0, backwards);
        Assert.True(reads > 1000, $"only {reads} reads");
        Assert.True(published > 1000, $"only {published} publishes");
    }

    private static ClockOffset Tuple(long i) => new(i, i * 3, ~i);
}
