using System.Runtime.CompilerServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The application's side of a ring the kernel fills: the completion ring (frame addresses) or the RX ring
/// (<see cref="Libc.xdp_desc"/>). Single consumer: one thread only.
/// </summary>
/// <remarks>
/// Ordering, mirroring <see cref="XskProducerRing{T}"/>: the kernel's producer index is read with
/// <see cref="Volatile.Read(ref readonly uint)"/> (an acquire: the entries it covers are complete before we read
/// them), and only when the cached one shows nothing left. Our consumer index is published with
/// <see cref="Volatile.Write(ref uint, uint)"/> (a release: our reads of the entries are done before the kernel may
/// overwrite them).
/// </remarks>
public sealed unsafe class XskConsumerRing<T> : IDisposable
    where T : unmanaged
{
    private readonly XskRingMapping _ring;
    private readonly uint _mask;
    private readonly T* _entries;

    // Our next index to consume (peeked but unreleased entries lie between *Consumer and this).
    private uint _cachedConsumer;

    // The kernel's producer index as last read.
    private uint _cachedProducer;

    internal XskConsumerRing(XskRingMapping ring)
    {
        _ring = ring;
        _mask = ring.Size - 1;
        _entries = (T*)ring.Entries;
        _cachedConsumer = Volatile.Read(ref *ring.Consumer);
        _cachedProducer = Volatile.Read(ref *ring.Producer);
    }

    public uint Size => _ring.Size;

    /// <summary>
    /// Up to <paramref name="count"/> entries the kernel has produced, from ring index <paramref name="index"/>; returns
    /// how many. Read them through <see cref="Entry"/>, then <see cref="Release"/> them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Peek(uint count, out uint index)
    {
        uint available = _cachedProducer - _cachedConsumer;
        if (available == 0)
        {
            _cachedProducer = Volatile.Read(ref *_ring.Producer);
            available = _cachedProducer - _cachedConsumer;
        }
        uint granted = Math.Min(available, count);
        index = _cachedConsumer;
        _cachedConsumer += granted;
        return granted;
    }

    /// <summary>The entry at ring index <paramref name="index"/> (one that <see cref="Peek"/> gave).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly T Entry(uint index) => ref _entries[index & _mask];

    /// <summary>Hands every peeked entry back to the kernel (release store of the consumer index).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release() => Volatile.Write(ref *_ring.Consumer, _cachedConsumer);

    /// <summary>Entries produced by the kernel and not yet peeked; reads the kernel's index.</summary>
    public uint Available => Volatile.Read(ref *_ring.Producer) - _cachedConsumer;

    public void Dispose() => _ring.Dispose();
}
