using System.Runtime.CompilerServices;

namespace RtUdp.Core.Flows;

/// <summary>
/// The fixed table of <see cref="Capacity"/> flow states in a channel's shared memory. A flow gets the
/// first free slot when its first packet arrives; once all are taken, packets of further flows are
/// counted (FlowUntracked) but not analysed. Slots are never reused while the channel lives.
/// </summary>
public readonly unsafe struct FlowTable
{
    public const int Capacity = 16;
    public const int Bytes = Capacity * 256;

    private readonly FlowState* _slots;

    public FlowTable(byte* slots) => _slots = (FlowState*)slots;

    /// <summary>The slot at <paramref name="index"/>.</summary>
    public ref FlowState this[int index] => ref _slots[index];

    /// <summary>The slot of <paramref name="flowId"/> (claiming a free one); null when the table is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowState* Find(uint flowId)
    {
        for (int i = 0; i < Capacity; i++)
        {
            FlowState* slot = _slots + i;
            if (slot->InUse == 0)
            {
                slot->FlowId = flowId;
                Volatile.Write(ref slot->InUse, 1);
                return slot;
            }
            if (slot->FlowId == flowId)
            {
                return slot;
            }
        }
        return null;
    }

    public void Reset()
    {
        for (int i = 0; i < Capacity; i++)
        {
            _slots[i] = default;
        }
    }
}
