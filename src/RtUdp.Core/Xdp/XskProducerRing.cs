using System.Runtime.CompilerServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The application's side of a ring it fills and the kernel drains: the fill ring (frame addresses) or the TX ring
/// (<see cref="Libc.xdp_desc"/>). Single producer: one thread only.
/// </summary>
/// <remarks>
/// Ordering, as the kernel's xsk_queue.h and libxdp pair it (a Disruptor-style sequence): entries are written with
/// plain stores, then the producer index is published with <see cref="Volatile.Write(ref uint, uint)"/> (a release:
/// no entry write can move after it, so the kernel never reads an entry before it is complete). The kernel's consumer
/// index is read with <see cref="Volatile.Read(ref readonly uint)"/> (an acquire: the kernel is done with the slots it
/// has consumed before we overwrite them). Both are read as seldom as possible: <see cref="_cachedConsumer"/> keeps
/// the last consumer index seen (plus Size, so "free" is one subtraction) and is refreshed only when it does not show
/// enough room, so a batch costs one shared-cache-line read at most.
/// </remarks>
public sealed unsafe class XskProducerRing<T> : IDisposable
    where T : unmanaged
{
    private readonly XskRingMapping _ring;
    private readonly uint _mask;
    private readonly T* _entries;

    // Our next index to produce at (reserved but unpublished entries lie between *Producer and this).
    private uint _cachedProducer;

    // The kernel's consumer index + Size: the first index we may not yet write.
    private uint _cachedConsumer;

    internal XskProducerRing(XskRingMapping ring)
    {
        _ring = ring;
        _mask = ring.Size - 1;
        _entries = (T*)ring.Entries;
        _cachedProducer = Volatile.Read(ref *ring.Producer);
        _cachedConsumer = Volatile.Read(ref *ring.Consumer) + ring.Size;
    }

    public uint Size => _ring.Size;

    /// <summary>Entries reserved by <see cref="Reserve"/> and not yet submitted or cancelled.</summary>
    public uint Reserved => _cachedProducer - *_ring.Producer;

    /// <summary>Entries the kernel has not consumed yet (published or reserved); reads the kernel's index.</summary>
    public uint Outstanding => _cachedProducer - Volatile.Read(ref *_ring.Consumer);

    /// <summary>
    /// Up to <paramref name="count"/> free entries, starting at ring index <paramref name="index"/>; returns how many
    /// (0 when the ring is full). Fill them through <see cref="Entry"/>, then <see cref="Submit"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Reserve(uint count, out uint index)
    {
        uint free = _cachedConsumer - _cachedProducer;
        if (free < count)
        {
            _cachedConsumer = Volatile.Read(ref *_ring.Consumer) + _ring.Size;
            free = _cachedConsumer - _cachedProducer;
        }
        uint granted = Math.Min(free, count);
        index = _cachedProducer;
        _cachedProducer += granted;
        return granted;
    }

    /// <summary>The entry at ring index <paramref name="index"/> (one that <see cref="Reserve"/> gave).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T Entry(uint index) => ref _entries[index & _mask];

    /// <summary>Gives back the last <paramref name="count"/> reserved, unsubmitted entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Cancel(uint count) => _cachedProducer -= count;

    /// <summary>Publishes every reserved entry to the kernel (release store of the producer index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Submit() => Volatile.Write(ref *_ring.Producer, _cachedProducer);

    /// <summary>The kernel has set XDP_RING_NEED_WAKEUP: it will not look at this ring again until a syscall wakes it.</summary>
    public bool NeedsWakeup
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Volatile.Read(ref *_ring.Flags) & Libc.XDP_RING_NEED_WAKEUP) != 0;
    }

    public void Dispose() => _ring.Dispose();
}
