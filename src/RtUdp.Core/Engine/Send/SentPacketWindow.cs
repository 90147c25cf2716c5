using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Engine.Send;

/// <summary>A packet the window remembers: who it was, and the head of the datagram as it left.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct SentPacket
{
    public const int HeadBytes = 48;

    public long PacketId;
    public long DueNs;
    public long SentNs;
    public int ClientTag;

    /// <summary>Bytes of <see cref="Head"/> in use: the payload's first <see cref="HeadBytes"/>, or all of a shorter one.</summary>
    public int HeadLength;

    /// <summary>A network error was matched to it already.</summary>
    public int Matched;
    public int Padding;
    public fixed byte Head[HeadBytes];
}

/// <summary>
/// The last packets sent, with the head of each datagram (a sequenced channel's flow header is in it), so a
/// network error that quotes a datagram's head (an ICMP error does) can be matched to its packet. A ring in
/// native memory: recording a packet copies at most <see cref="SentPacket.HeadBytes"/> and allocates nothing;
/// a match is a scan, made only when an error comes.
/// </summary>
public sealed unsafe class SentPacketWindow : IDisposable
{
    private readonly SentPacket* _entries;
    private readonly int _mask;
    private long _next;

    public SentPacketWindow(int capacity)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(capacity, 1));
        _mask = size - 1;
        Capacity = size;
        _entries = (SentPacket*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(SentPacket));
    }

    /// <summary>How many packets it remembers.</summary>
    public int Capacity { get; }

    /// <summary>Remembers a packet the kernel took, with the payload as it left (flow header written).</summary>
    public void Add(long packetId, int clientTag, long dueNs, long sentNs, byte* payload, int length)
    {
        ref SentPacket entry = ref _entries[_next++ & _mask];
        entry.PacketId = packetId;
        entry.ClientTag = clientTag;
        entry.DueNs = dueNs;
        entry.SentNs = sentNs;
        entry.Matched = 0;
        int head = Math.Min(length, SentPacket.HeadBytes);
        entry.HeadLength = head;
        fixed (byte* to = entry.Head)
        {
            Buffer.MemoryCopy(payload, to, SentPacket.HeadBytes, head);
        }
    }

    /// <summary>
    /// Finds the packet a quoted datagram head belongs to: the only recent packet with that head
    /// (<see cref="NetworkErrorAttribution.Exact"/>), else the oldest of those not yet matched
    /// (<see cref="NetworkErrorAttribution.ByOrder"/>: errors come back in the order their packets left),
    /// else none. The match is marked, so the next error with the same head takes the next packet.
    /// </summary>
    public NetworkErrorAttribution Match(ReadOnlySpan<byte> quote, out SentPacket packet)
    {
        long oldest = Math.Max(0, _next - Capacity);
        int candidates = 0;
        long firstUnmatched = -1;
        long only = -1;
        for (long i = oldest; i < _next; i++)
        {
            ref SentPacket entry = ref _entries[i & _mask];
            if (!HeadMatches(ref entry, quote))
            {
                continue;
            }
            candidates++;
            only = i;
            if (firstUnmatched < 0 && entry.Matched == 0)
            {
                firstUnmatched = i;
            }
        }
        if (candidates == 1)
        {
            ref SentPacket entry = ref _entries[only & _mask];
            entry.Matched = 1;
            packet = entry;
            return NetworkErrorAttribution.Exact;
        }
        if (firstUnmatched >= 0)
        {
            ref SentPacket entry = ref _entries[firstUnmatched & _mask];
            entry.Matched = 1;
            packet = entry;
            return NetworkErrorAttribution.ByOrder;
        }
        packet = default;
        return NetworkErrorAttribution.None;
    }

    private static bool HeadMatches(ref SentPacket entry, ReadOnlySpan<byte> quote)
    {
        if (quote.Length == 0)
        {
            return entry.HeadLength == 0;
        }
        if (entry.HeadLength < SentPacket.HeadBytes && quote.Length > entry.HeadLength)
        {
            // This packet's whole payload is in its head, and the quoted datagram was longer.
            return false;
        }
        // A quote shorter than the head (a router may quote as little as 8 bytes) compares what it has.
        int length = Math.Min(entry.HeadLength, quote.Length);
        fixed (byte* head = entry.Head)
        {
            return new ReadOnlySpan<byte>(head, length).SequenceEqual(quote[..length]);
        }
    }

    public void Dispose() => NativeMemory.Free(_entries);
}
