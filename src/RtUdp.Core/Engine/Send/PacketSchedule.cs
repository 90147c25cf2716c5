using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// The send worker's schedule: packets ordered by (due time, arrival). Most traffic arrives in
/// time order, so a packet due no earlier than the last one queued goes to a FIFO run in O(1); only
/// packets that arrive out of order pay for the heap. The earliest of the two heads is next.
/// </summary>
public sealed unsafe class PacketSchedule : IDisposable
{
    private readonly ScheduleHeap _heap;
    private ScheduledPacket* _run;
    private readonly int _mask;
    private long _runHead;
    private long _runTail;

    public PacketSchedule(int capacity)
    {
        Capacity = capacity;
        _heap = new ScheduleHeap(capacity);
        int runCapacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _mask = runCapacity - 1;
        _run = (ScheduledPacket*)NativeMemory.Alloc((nuint)runCapacity, (nuint)sizeof(ScheduledPacket));
    }

    public int Capacity { get; }

    public int Count => _heap.Count + (int)(_runTail - _runHead);

    public bool IsFull => Count >= Capacity;

    public void Push(in ScheduledPacket packet)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("Packet schedule is full.");
        }
        // Sequence numbers only grow, so an equal due time keeps arrival order in the run too.
        if (_runTail == _runHead || packet.DueNs >= _run[(_runTail - 1) & _mask].DueNs)
        {
            _run[_runTail++ & _mask] = packet;
        }
        else
        {
            _heap.Push(packet);
        }
    }

    /// <summary>The earliest packet. Only valid when <see cref="Count"/> &gt; 0.</summary>
    public ref ScheduledPacket Peek() => ref HeapFirst() ? ref _heap.Peek() : ref _run[_runHead & _mask];

    public ScheduledPacket Pop() => HeapFirst() ? _heap.Pop() : _run[_runHead++ & _mask];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool HeapFirst()
    {
        if (_runHead == _runTail)
        {
            return true;
        }
        if (_heap.Count == 0)
        {
            return false;
        }
        ref ScheduledPacket h = ref _heap.Peek();
        ref ScheduledPacket r = ref _run[_runHead & _mask];
        return h.DueNs < r.DueNs || (h.DueNs == r.DueNs && (int)(h.Sequence - r.Sequence) < 0);
    }

    public void Dispose()
    {
        _heap.Dispose();
        if (_run != null)
        {
            NativeMemory.Free(_run);
            _run = null;
        }
    }
}
