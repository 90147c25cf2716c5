namespace RtUdp.Core.Engine.Send;

/// <summary>One datagram of a batch: the packets [<see cref="First"/>, <see cref="First"/> + <see cref="Count"/>); more than one is a GSO train.</summary>
public struct PlannedDatagram
{
    public int First;
    public int Count;

    /// <summary>The train's gso_size: its first packet's length (every packet but the last has it).</summary>
    public int SegmentSize;
}

/// <summary>What bounds a train.</summary>
/// <param name="MaxSegments">Most packets in one train (the channel's GsoMaxSegments); below 2, no trains.</param>
/// <param name="MaxPayload">Most bytes of payload in one datagram (IPv4 65507, IPv6 65527).</param>
/// <param name="MaxSegmentSize">Longest segment whose datagram fits the route's MTU with its IP and UDP headers; 0: no trains.</param>
public readonly record struct TrainLimits(int MaxSegments, int MaxPayload, int MaxSegmentSize)
{
    /// <summary>The largest UDP payload of an IPv4 datagram: 65535 less the IPv4 (20) and UDP (8) headers.</summary>
    public const int MaxPayloadInet = 65507;

    /// <summary>The largest UDP payload over IPv6: the payload length field (65535) counts the UDP header, not IPv6's.</summary>
    public const int MaxPayloadInet6 = 65527;

    public static TrainLimits For(int maxSegments, int pathMtu, bool inet6) => new(
        maxSegments,
        inet6 ? MaxPayloadInet6 : MaxPayloadInet,
        Math.Max(0, pathMtu - HeaderBytes(inet6)));

    /// <summary>The IP and UDP headers of one datagram (no IP options).</summary>
    public static int HeaderBytes(bool inet6) => (inet6 ? 40 : 20) + 8;
}

/// <summary>
/// Cuts a batch of packets, in order, into datagrams: runs of consecutive packets of one size (the last may be
/// shorter) become GSO trains, within the segment cap, the datagram's 64 KiB and the route's MTU for a segment;
/// every other packet goes alone. Greedy from the first packet; pure, allocates nothing.
/// </summary>
public static class GsoTrainPlanner
{
    /// <summary>Plans the packets [<paramref name="from"/>, <paramref name="lengths"/>.Length) into <paramref name="datagrams"/>.</summary>
    /// <param name="lengths">Every packet's payload length.</param>
    /// <param name="launchTimes">Empty, or every packet's launch time: then only packets of one launch time share a train.</param>
    /// <param name="singlesUntil">Packets before this one go alone (a refused train's, sent again).</param>
    /// <returns>How many datagrams were planned.</returns>
    public static int Plan(ReadOnlySpan<int> lengths, ReadOnlySpan<long> launchTimes, int from, int singlesUntil, in TrainLimits limits, Span<PlannedDatagram> datagrams)
    {
        int planned = 0;
        int packet = from;
        while (packet < lengths.Length)
        {
            int segment = lengths[packet];
            int count = packet < singlesUntil ? 1 : TrainLength(lengths, launchTimes, packet, limits);
            datagrams[planned++] = new PlannedDatagram { First = packet, Count = count, SegmentSize = segment };
            packet += count;
        }
        return planned;
    }

    /// <summary>How many packets from <paramref name="first"/> on go in its datagram (1: alone).</summary>
    private static int TrainLength(ReadOnlySpan<int> lengths, ReadOnlySpan<long> launchTimes, int first, in TrainLimits limits)
    {
        int segment = lengths[first];
        // An empty packet cannot be a segment: the kernel would cut no datagram for it.
        if (segment == 0 || segment > limits.MaxSegmentSize || limits.MaxSegments < 2)
        {
            return 1;
        }
        int count = 1;
        int total = segment;
        for (int next = first + 1; next < lengths.Length && count < limits.MaxSegments; next++)
        {
            int length = lengths[next];
            if (length == 0 || length > segment || total + length > limits.MaxPayload
                || (!launchTimes.IsEmpty && launchTimes[next] != launchTimes[first]))
            {
                break;
            }
            count++;
            total += length;
            if (length < segment)
            {
                // A shorter packet can only be the train's last segment.
                break;
            }
        }
        return count;
    }
}
