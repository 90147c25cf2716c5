using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Engine.Send;

/// <summary>One scheduled packet: when it is due, its arrival order, and where its record sits in the TX ring.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ScheduledPacket
{
    public long DueNs;

    /// <summary>Arrival order, to break ties: packets due together leave in the order they were enqueued.</summary>
    public uint Sequence;

    /// <summary>Index of the packet's record in the TX ring.</summary>
    public int RecordIndex;
}

/// <summary>
/// A binary min-heap of <see cref="ScheduledPacket"/> ordered by (due time, arrival order), in
/// native memory allocated once at channel creation: pushing and popping never allocate.
/// </summary>
public sealed unsafe class ScheduleHeap : IDisposable
{
    private ScheduledPacket* _items;
    private int _count;

    public ScheduleHeap(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        _items = (ScheduledPacket*)NativeMemory.Alloc((nuint)capacity, (nuint)sizeof(ScheduledPacket));
    }

    public int Capacity { get; }

    public int Count => _count;

    public bool IsFull => _count == Capacity;

    /// <summary>The earliest packet. Only valid when <see cref="Count"/> &gt; 0.</summary>
    public ref ScheduledPacket Peek() => ref _items[0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Before(in ScheduledPacket a, in ScheduledPacket b) =>
        a.DueNs < b.DueNs || (a.DueNs == b.DueNs && (int)(a.Sequence - b.Sequence) < 0);

    public void Push(in ScheduledPacket packet)
    {
        if (_count == Capacity)
        {
            throw new InvalidOperationException("Schedule heap is full.");
        }
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Before(packet, _items[parent]))
            {
                break;
            }
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = packet;
    }

    public ScheduledPacket Pop()
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("Schedule heap is empty.");
        }
        ScheduledPacket top = _items[0];
        ScheduledPacket last = _items[--_count];
        int i = 0;
        int half = _count >> 1;
        while (i < half)
        {
            int child = (2 * i) + 1;
            int right = child + 1;
            if (right < _count && Before(_items[right], _items[child]))
            {
                child = right;
            }
            if (!Before(_items[child], last))
            {
                break;
            }
            _items[i] = _items[child];
            i = child;
        }
        if (_count > 0)
        {
            _items[i] = last;
        }
        return top;
    }

    public void Dispose()
    {
        if (_items != null)
        {
            NativeMemory.Free(_items);
            _items = null;
        }
    }
}
