using RtUdp.Core.Flows;

namespace RtUdp.Core.Tests.Flows;

/// <summary>The sequence accounting on known patterns: every count is exact.</summary>
public sealed class SequenceTrackerTests
{
    private static (FlowState State, List<SequenceOutcome> Outcomes) Run(params ulong[] sequences)
    {
        FlowState state = default;
        var outcomes = new List<SequenceOutcome>();
        foreach (ulong s in sequences)
        {
            outcomes.Add(SequenceTracker.Observe(ref state, s));
        }
        return (state, outcomes);
    }

    [Fact]
    public void In_order_flow_has_no_loss_duplicate_or_reordering()
    {
        (FlowState s, List<SequenceOutcome> outcomes) = Run(0, 1, 2, 3, 4);
        Assert.Equal(SequenceOutcome.First, outcomes[0]);
        Assert.All(outcomes.Skip(1), o => Assert.Equal(SequenceOutcome.Advanced, o));
        Assert.Equal((5L, 5L, 5L, 0L, 0L, 0L, 0L), (s.Received, s.Unique, s.Expected, s.Lost, s.Duplicates, s.Reordered, s.Stale));
        Assert.Equal(4UL, s.HighestSequence);
    }

    [Fact]
    public void Drop_three_repeat_two_swap_two_is_counted_exactly()
    {
        // 0..11 sent; 3,4,5 dropped; 7 arrives twice; 9 and 10 swap; 1 repeated once more at the end.
        (FlowState s, List<SequenceOutcome> outcomes) = Run(0, 1, 2, 6, 7, 7, 8, 10, 9, 11, 1);
        Assert.Equal(
            [SequenceOutcome.First, SequenceOutcome.Advanced, SequenceOutcome.Advanced, SequenceOutcome.Advanced, SequenceOutcome.Advanced,
             SequenceOutcome.Duplicate, SequenceOutcome.Advanced, SequenceOutcome.Advanced, SequenceOutcome.Reordered, SequenceOutcome.Advanced,
             SequenceOutcome.Duplicate],
            outcomes);
        Assert.Equal(11, s.Received);
        Assert.Equal(12, s.Expected);
        Assert.Equal(9, s.Unique);
        Assert.Equal(3, s.Lost);
        Assert.Equal(2, s.Duplicates);
        Assert.Equal(1, s.Reordered);
        Assert.Equal(0, s.Stale);
    }

    [Fact]
    public void A_late_packet_filling_a_gap_stops_counting_lost()
    {
        (FlowState s, _) = Run(10, 11, 14, 12, 13);
        Assert.Equal(10UL, s.BaseSequence);
        Assert.Equal(5, s.Expected);
        Assert.Equal(0, s.Lost);
        Assert.Equal(2, s.Reordered);
    }

    [Fact]
    public void Packets_older_than_the_window_or_the_first_are_stale()
    {
        (FlowState s, List<SequenceOutcome> outcomes) = Run(100, 2000, 500, 99, 1500, 1500);
        Assert.Equal(SequenceOutcome.Stale, outcomes[2]); // 1500 below the highest: beyond the 1024 window
        Assert.Equal(SequenceOutcome.Stale, outcomes[3]); // below the first
        Assert.Equal(SequenceOutcome.Reordered, outcomes[4]);
        Assert.Equal(SequenceOutcome.Duplicate, outcomes[5]);
        Assert.Equal(2, s.Stale);
        Assert.Equal(1901, s.Expected);
        Assert.Equal(3, s.Unique);
        Assert.Equal(1898, s.Lost);
        Assert.Equal(6, s.Received);
        Assert.Equal(s.Received, s.Unique + s.Duplicates + s.Stale);
    }

    [Fact]
    public void The_window_forgets_what_it_slides_past()
    {
        // A jump of 1023 clears the bits in between: 1028 shares 4's bit... 4 was never received, 1028 is new.
        (FlowState s, List<SequenceOutcome> outcomes) = Run(4, 5, 6, 1029, 1028);
        Assert.Equal(SequenceOutcome.Reordered, outcomes[4]);
        // A jump of the whole window clears everything: 1025 shares 1's bit, and is new.
        (s, outcomes) = Run(1, 2, 1026, 1025);
        Assert.Equal(SequenceOutcome.Reordered, outcomes[3]);
        // Exactly the window below the highest is outside it.
        (s, outcomes) = Run(0, 3, 1027, 3);
        Assert.Equal(SequenceOutcome.Stale, outcomes[3]);
        // One less is inside, and remembered.
        (s, outcomes) = Run(0, 4, 1027, 4);
        Assert.Equal(SequenceOutcome.Duplicate, outcomes[3]);
        Assert.Equal(1, s.Duplicates);
    }

    [Fact]
    public void Sequence_numbers_use_all_64_bits()
    {
        ulong start = ulong.MaxValue - 3;
        (FlowState s, _) = Run(start, start + 1, start + 3, start + 2);
        Assert.Equal(4, s.Expected);
        Assert.Equal(0, s.Lost);
        Assert.Equal(1, s.Reordered);
    }
}
