using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Free UMEM frames (their start addresses), a fixed-size stack in native memory: Take and Return are a load and a
/// store, allocate nothing and take no lock (one thread only). LIFO on purpose: the frame just returned is the one
/// most likely still in cache.
/// </summary>
public sealed unsafe class XdpFramePool : IDisposable
{
    private ulong* _free;
    private int _count;

    /// <summary>A pool holding <paramref name="frames"/> frames of <paramref name="frameSize"/> bytes from address <paramref name="first"/>.</summary>
    public XdpFramePool(ulong first, int frames, int frameSize)
    {
        Capacity = frames;
        _free = (ulong*)NativeMemory.Alloc((nuint)Math.Max(frames, 1), sizeof(ulong));
        // Pushed last to first, so the first Take gives the lowest address.
        for (int i = frames - 1; i >= 0; i--)
        {
            _free[_count++] = first + (ulong)i * (ulong)frameSize;
        }
    }

    public int Capacity { get; }

    /// <summary>Frames free now.</summary>
    public int Count => _count;

    /// <summary>A free frame's address; the pool must not be empty (check <see cref="Count"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Take() => _free[--_count];

    /// <summary>Gives a frame back; more returns than takes is a caller's bug the pool cannot absorb.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(ulong frame)
    {
        if ((uint)_count >= (uint)Capacity)
        {
            ThrowOverflow();
        }
        _free[_count++] = frame;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOverflow() => throw new InvalidOperationException("XdpFramePool: a frame was returned twice");

    public void Dispose()
    {
        NativeMemory.Free(_free);
        _free = null;
    }
}
