using System.Runtime.CompilerServices;

namespace RtUdp.Core.Flows;

/// <summary>What a packet's sequence number was, relative to what the flow had received.</summary>
public enum SequenceOutcome
{
    /// <summary>The flow's first packet.</summary>
    First,

    /// <summary>Above the highest so far (any gap below it counts lost until filled).</summary>
    Advanced,

    /// <summary>A new sequence number below the highest so far: fills a gap, counted reordered.</summary>
    Reordered,

    /// <summary>Already received.</summary>
    Duplicate,

    /// <summary>More than the window below the highest, or below the first: too old to tell.</summary>
    Stale,
}

/// <summary>
/// Loss, duplicates and reordering of one flow from its sequence numbers, on a <see cref="FlowState"/>
/// (RFC 3550 A.3 and RFC 4737 style):
/// <list type="bullet">
/// <item>expected = highest - first + 1; lost = expected - unique (a gap later filled stops counting lost);</item>
/// <item>duplicate: a sequence number already received, remembered for the last 1024 below the highest;</item>
/// <item>reordered: a sequence number not yet received that arrives after a higher one;</item>
/// <item>stale: older than the window or than the first packet: counted, but neither unique nor duplicate.</item>
/// </list>
/// No allocation; a jump forward clears at most 1024 bits.
/// </summary>
public static unsafe class SequenceTracker
{
    public static SequenceOutcome Observe(ref FlowState flow, ulong sequence)
    {
        flow.Received++;
        if (flow.Expected == 0)
        {
            for (int i = 0; i < FlowState.WindowWords; i++)
            {
                flow.Window[i] = 0;
            }
            flow.BaseSequence = sequence;
            flow.HighestSequence = sequence;
            Set(ref flow, sequence);
            flow.Expected = 1;
            flow.Unique = 1;
            return SequenceOutcome.First;
        }

        ulong highest = flow.HighestSequence;
        if (sequence > highest)
        {
            ulong jump = sequence - highest;
            if (jump >= FlowState.WindowBits)
            {
                for (int i = 0; i < FlowState.WindowWords; i++)
                {
                    flow.Window[i] = 0;
                }
            }
            else
            {
                for (ulong s = highest + 1; s < sequence; s++)
                {
                    Clear(ref flow, s);
                }
            }
            Set(ref flow, sequence);
            flow.HighestSequence = sequence;
            flow.Expected += (long)jump;
            flow.Unique++;
            return SequenceOutcome.Advanced;
        }

        if (highest - sequence >= FlowState.WindowBits || sequence < flow.BaseSequence)
        {
            flow.Stale++;
            return SequenceOutcome.Stale;
        }
        if (IsSet(ref flow, sequence))
        {
            flow.Duplicates++;
            return SequenceOutcome.Duplicate;
        }
        Set(ref flow, sequence);
        flow.Unique++;
        flow.Reordered++;
        return SequenceOutcome.Reordered;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set(ref FlowState flow, ulong sequence)
    {
        int bit = (int)(sequence % FlowState.WindowBits);
        flow.Window[bit >> 6] |= 1UL << (bit & 63);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Clear(ref FlowState flow, ulong sequence)
    {
        int bit = (int)(sequence % FlowState.WindowBits);
        flow.Window[bit >> 6] &= ~(1UL << (bit & 63));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSet(ref FlowState flow, ulong sequence)
    {
        int bit = (int)(sequence % FlowState.WindowBits);
        return (flow.Window[bit >> 6] & (1UL << (bit & 63))) != 0;
    }
}
