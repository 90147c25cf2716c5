using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using RtUdp.Core.Xdp;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The ring index arithmetic without a kernel: a producer and a consumer over the same memory, laid out as
/// XDP_MMAP_OFFSETS would describe it, play both sides (the test is the "kernel" for each).
/// </summary>
public sealed unsafe class XskRingTests : IDisposable
{
    private const int Size = 8;
    private readonly byte* _memory = (byte*)NativeMemory.AllocZeroed(4096);
    private readonly Libc.xdp_ring_offset _offsets = new() { producer = 0, consumer = 64, flags = 128, desc = 192 };

    [Fact]
    public void Reserve_stops_at_the_ring_size_until_the_other_side_consumes()
    {
        (XskProducerRing<ulong> producer, XskConsumerRing<ulong> consumer) = Pair(start: 0);
        Assert.Equal(5u, producer.Reserve(5, out uint first));
        Assert.Equal(3u, producer.Reserve(5, out uint second));
        Assert.Equal(first + 5, second);
        Assert.Equal(0u, producer.Reserve(1, out _));
        for (uint i = 0; i < 8; i++)
        {
            producer.Entry(first + i) = 100 + i;
        }
        // Not visible before Submit.
        Assert.Equal(0u, consumer.Peek(8, out _));
        producer.Submit();
        Assert.Equal(3u, consumer.Peek(3, out uint read));
        Assert.Equal(100UL, consumer.Entry(read));
        Assert.Equal(102UL, consumer.Entry(read + 2));
        // Peeked but unreleased slots stay the producer's no-go zone.
        Assert.Equal(0u, producer.Reserve(1, out _));
        consumer.Release();
        Assert.Equal(3u, producer.Reserve(8, out _));
        // The rest is still there, in order.
        Assert.Equal(5u, consumer.Peek(8, out read));
        Assert.Equal(103UL, consumer.Entry(read));
    }

    [Fact]
    public void Indices_wrap_past_uint_max_value()
    {
        (XskProducerRing<ulong> producer, XskConsumerRing<ulong> consumer) = Pair(start: uint.MaxValue - 2);
        ulong next = 0;
        ulong expected = 0;
        for (int round = 0; round < 10; round++)
        {
            uint reserved = producer.Reserve(5, out uint index);
            Assert.Equal(5u, reserved);
            for (uint i = 0; i < reserved; i++)
            {
                producer.Entry(index + i) = next++;
            }
            producer.Submit();
            uint got = consumer.Peek(Size, out uint read);
            Assert.Equal(5u, got);
            for (uint i = 0; i < got; i++)
            {
                Assert.Equal(expected++, consumer.Entry(read + i));
            }
            consumer.Release();
        }
        Assert.Equal(unchecked(uint.MaxValue - 2 + 50), *(uint*)(_memory + _offsets.producer));
    }

    [Fact]
    public void Cancel_gives_back_the_last_reserved_entries()
    {
        (XskProducerRing<ulong> producer, _) = Pair(start: 0);
        Assert.Equal(6u, producer.Reserve(6, out _));
        producer.Cancel(4);
        Assert.Equal(2u, producer.Reserved);
        producer.Submit();
        Assert.Equal(2u, *(uint*)(_memory + _offsets.producer));
        Assert.Equal(6u, producer.Reserve(8, out _));
    }

    [Fact]
    public void Need_wakeup_follows_the_flags_word()
    {
        (XskProducerRing<ulong> producer, _) = Pair(start: 0);
        Assert.False(producer.NeedsWakeup);
        *(uint*)(_memory + _offsets.flags) = Libc.XDP_RING_NEED_WAKEUP;
        Assert.True(producer.NeedsWakeup);
    }

    private (XskProducerRing<ulong>, XskConsumerRing<ulong>) Pair(uint start)
    {
        *(uint*)(_memory + _offsets.producer) = start;
        *(uint*)(_memory + _offsets.consumer) = start;
        var mapping = new XskRingMapping(_memory, _offsets, Size);
        return (new XskProducerRing<ulong>(mapping), new XskConsumerRing<ulong>(mapping));
    }

    public void Dispose() => NativeMemory.Free(_memory);
}
