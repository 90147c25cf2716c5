using RtUdp.Core.Engine.Send;

namespace RtUdp.Core.Tests.Engine;

/// <summary>How a batch of packets due together is cut into GSO trains and single datagrams.</summary>
public sealed class GsoTrainPlannerTests
{
    /// <summary>Loopback's limits (MTU 65535, IPv4), 64 segments.</summary>
    private static readonly TrainLimits Wide = TrainLimits.For(64, 65535, inet6: false);

    /// <summary>The planned datagrams as (first packet, packets, segment size).</summary>
    private static (int First, int Count, int Segment)[] Plan(int[] lengths, in TrainLimits limits, long[]? launchTimes = null, int from = 0, int singlesUntil = 0)
    {
        var datagrams = new PlannedDatagram[lengths.Length];
        int planned = GsoTrainPlanner.Plan(lengths, launchTimes ?? [], from, singlesUntil, limits, datagrams);
        return [.. datagrams.Take(planned).Select(d => (d.First, d.Count, d.SegmentSize))];
    }

    [Fact]
    public void Packets_of_one_size_form_one_train()
    {
        Assert.Equal([(0, 8, 64)], Plan([.. Enumerable.Repeat(64, 8)], Wide));
    }

    [Fact]
    public void The_last_packet_of_a_train_may_be_shorter_and_ends_it()
    {
        Assert.Equal([(0, 4, 100), (4, 2, 100)], Plan([100, 100, 100, 40, 100, 100], Wide));
    }

    [Fact]
    public void A_longer_packet_breaks_the_train_and_begins_the_next()
    {
        Assert.Equal([(0, 2, 100), (2, 3, 200)], Plan([100, 100, 200, 200, 200], Wide));
        // Each longer than the one before: every packet alone.
        Assert.Equal([(0, 1, 100), (1, 1, 300), (2, 1, 400)], Plan([100, 300, 400], Wide));
        // A shorter one after a longer one is that train's last segment.
        Assert.Equal([(0, 1, 100), (1, 2, 300)], Plan([100, 300, 200], Wide));
    }

    [Fact]
    public void An_empty_packet_never_joins_a_train()
    {
        // The kernel would cut no datagram for an empty last segment: the packet would vanish.
        Assert.Equal([(0, 2, 64), (2, 1, 0), (3, 1, 0), (4, 1, 64)], Plan([64, 64, 0, 0, 64], Wide));
    }

    [Fact]
    public void The_segment_cap_cuts_long_runs()
    {
        Assert.Equal([(0, 4, 64), (4, 4, 64), (8, 2, 64)], Plan([.. Enumerable.Repeat(64, 10)], TrainLimits.For(4, 65535, inet6: false)));
        // A cap below two: no trains at all (the channel fell back, or GSO is off).
        Assert.All(Plan([.. Enumerable.Repeat(64, 3)], TrainLimits.For(1, 65535, inet6: false)), d => Assert.Equal(1, d.Count));
        Assert.All(Plan([.. Enumerable.Repeat(64, 3)], default), d => Assert.Equal(1, d.Count));
    }

    [Fact]
    public void A_train_stays_within_the_largest_udp_payload()
    {
        // 9000-byte packets: 7 make 63000 bytes, an eighth would pass IPv4's 65507.
        int[] jumbo = [.. Enumerable.Repeat(9000, 10)];
        Assert.Equal([(0, 7, 9000), (7, 3, 9000)], Plan(jumbo, TrainLimits.For(64, 9000 + 28, inet6: false)));
        // 65507 exactly fits; one byte more does not.
        Assert.Equal([(0, 2, 65000), (2, 1, 1)], Plan([65000, 507, 1], TrainLimits.For(64, 65535, inet6: false)));
        Assert.Equal([(0, 1, 65000), (1, 2, 508)], Plan([65000, 508, 1], TrainLimits.For(64, 65535, inet6: false)));
        // IPv6 counts no IP header in its payload length: 65527.
        Assert.Equal(TrainLimits.MaxPayloadInet6, TrainLimits.For(64, 65535, inet6: true).MaxPayload);
        Assert.Equal([(0, 2, 65000), (2, 1, 1)], Plan([65000, 527, 1], TrainLimits.For(64, 65535, inet6: true)));
    }

    [Fact]
    public void A_segment_must_fit_the_route_mtu_with_its_headers()
    {
        TrainLimits ethernet = TrainLimits.For(64, 1500, inet6: false);
        Assert.Equal(1472, ethernet.MaxSegmentSize);
        Assert.Equal([(0, 3, 1472)], Plan([1472, 1472, 1472], ethernet));
        // 1473 + 28 > 1500: each goes alone (fragmented, or refused with DF, as without GSO).
        Assert.Equal([(0, 1, 1473), (1, 1, 1473)], Plan([1473, 1473], ethernet));
        Assert.Equal(1500 - 48, TrainLimits.For(64, 1500, inet6: true).MaxSegmentSize);
        // An MTU that could not be read: no trains.
        Assert.All(Plan([64, 64], TrainLimits.For(64, 0, inet6: false)), d => Assert.Equal(1, d.Count));
    }

    [Fact]
    public void With_launch_times_given_only_packets_of_one_launch_time_share_a_train()
    {
        // GsoMode.Auto passes the launch times: a new time begins a new train.
        Assert.Equal([(0, 2, 64), (2, 3, 64), (5, 1, 64)], Plan([64, 64, 64, 64, 64, 64], Wide, launchTimes: [10, 10, 20, 20, 20, 30]));
        // GsoMode.On passes none: the train takes them all (and leaves at its first packet's time).
        Assert.Equal([(0, 6, 64)], Plan([64, 64, 64, 64, 64, 64], Wide));
    }

    [Fact]
    public void A_refused_trains_packets_go_alone_and_the_rest_is_planned_anew()
    {
        Assert.Equal([(2, 1, 64), (3, 1, 64), (4, 1, 64), (5, 3, 64)], Plan([64, 64, 64, 64, 64, 64, 64, 64], Wide, from: 2, singlesUntil: 5));
    }
}
