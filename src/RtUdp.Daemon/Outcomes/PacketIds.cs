using Google.Protobuf.Collections;
using RtUdp.Core.Contract.Channels;
using RtUdp.Daemon.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Outcomes;

/// <summary>
/// packet_ids: a client's own (1 to 2^62 - 1), or one rtudpd assigns to a packet sent without one, from the
/// channel's counter at 2^62 and up, contiguous within one request (or stream message), so that a client can
/// find its packets in WatchOutcomes without choosing ids.
/// </summary>
internal static class PacketIds
{
    /// <summary>The ids of <paramref name="packets"/>, assigning the missing ones; the assigned range, if any.</summary>
    public static (long[] Ids, PacketIdRange? Assigned) Assign(ChannelEntry entry, RepeatedField<OutgoingPacket> packets)
    {
        long[] ids = new long[packets.Count];
        int missing = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = packets[i].PacketId;
            if (ids[i] == 0)
            {
                missing++;
            }
        }
        if (missing == 0)
        {
            return (ids, null);
        }
        long next = entry.AssignPacketIds(missing);
        var range = new PacketIdRange { First = next, Last = next + missing - 1 };
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == 0)
            {
                ids[i] = next++;
            }
        }
        return (ids, range);
    }

    /// <summary>A client's id must stay below the assigned ones; 0 asks for one.</summary>
    public static string? Problem(long packetId) =>
        PacketIdRule.IsClientChoice(packetId) ? null : PacketIdRule.Requirement;

    /// <summary>Appends <paramref name="range"/>, merged into the last range when it follows it.</summary>
    public static void Append(RepeatedField<PacketIdRange> ranges, PacketIdRange? range)
    {
        if (range is null)
        {
            return;
        }
        if (ranges.Count > 0 && ranges[^1].Last + 1 == range.First)
        {
            ranges[^1].Last = range.Last;
        }
        else
        {
            ranges.Add(range);
        }
    }
}
