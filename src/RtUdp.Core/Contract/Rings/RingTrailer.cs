namespace RtUdp.Core.Contract.Rings;

/// <summary>
/// Control fields after a ring's data area. Each field has a 128-byte line of its own: producers
/// hammer the tail, the consumer writes the head, and adjacent-line prefetch would otherwise make
/// them share.
/// </summary>
public static class RingTrailer
{
    private const int Line = 128;

    /// <summary>Position (monotonic byte count, never wraps) up to which space has been claimed.</summary>
    public const int TailPosition = 0;

    /// <summary>A producer-side copy of the head, refreshed only when the cached value says "full".</summary>
    public const int HeadCachePosition = Line;

    /// <summary>Position up to which the consumer has released space.</summary>
    public const int HeadPosition = Line * 2;

    /// <summary>Consumer park flag (int32) and wake sequence (int32, the futex word): see <see cref="Concurrency.EventCount"/>.</summary>
    public const int ConsumerWait = Line * 3;

    public const int Length = Line * 4;
}
