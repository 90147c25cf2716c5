using System.Runtime.CompilerServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Contract.Concurrency;

/// <summary>
/// Lets one consumer sleep until a producer (in this or another process) signals it or a deadline
/// passes, with no syscall on the producer's side unless the consumer is actually asleep.
/// The two words live in shared memory: <c>parked</c> (int32) and <c>sequence</c> (int32, the futex word).
/// </summary>
/// <remarks>
/// The protocol is Dekker-style: each side writes its own word, issues a full fence, then reads the
/// other's. Either the producer sees <c>parked</c> and wakes, or the consumer's re-check sees the
/// producer's record; never neither. Bumping <c>sequence</c> before FUTEX_WAKE makes a consumer
/// that has not yet entered the kernel return at once (EAGAIN) instead of missing the wake.
/// FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline is the same hrtimer as
/// clock_nanosleep(TIMER_ABSTIME), so a parked worker wakes as punctually as a sleeping one.
/// </remarks>
public readonly unsafe struct EventCount
{
    private readonly int* _parked;
    private readonly int* _sequence;

    public EventCount(byte* words)
        : this((int*)words, (int*)(words + sizeof(int)))
    {
    }

    /// <summary>Over two words kept apart (a client region puts each party's word on a line of its own).</summary>
    public EventCount(int* parked, int* sequence)
    {
        _parked = parked;
        _sequence = sequence;
    }

    public const int Length = 8;

    /// <summary>The futex word, for a consumer that waits on several at once (futex_waitv) after <see cref="PrepareWait"/>.</summary>
    public int* SequenceWord => _sequence;

    /// <summary>Consumer: step 1. Returns the ticket to pass to <see cref="Wait"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PrepareWait()
    {
        int ticket = Volatile.Read(ref *_sequence);
        Volatile.Write(ref *_parked, 1);
        // Full fence: the park flag must be visible before the consumer re-reads the ring (StoreLoad).
        Interlocked.MemoryBarrier();
        return ticket;
    }

    /// <summary>Consumer: step 2, after re-checking for work. Sleeps until signalled or the deadline.</summary>
    /// <returns>true if woken (or the sequence moved), false on timeout.</returns>
    public bool Wait(int ticket, long deadlineMonotonicNs)
    {
        int result = Libc.futex_wait_bitset_abs(_sequence, ticket, deadlineMonotonicNs);
        Volatile.Write(ref *_parked, 0);
        return result != Errno.ETIMEDOUT;
    }

    /// <summary>Consumer: abandon a prepared wait because work was found.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CancelWait() => Volatile.Write(ref *_parked, 0);

    /// <summary>Producer: after publishing. Costs a fence, and a syscall only if the consumer sleeps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Signal()
    {
        // Full fence: the published record must be visible before the park flag is read (StoreLoad).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref *_parked) != 0)
        {
            Interlocked.Increment(ref *_sequence);
            _ = Libc.futex_wake(_sequence, 1);
        }
    }

    /// <summary>Wakes the consumer whether or not it is parked (used to make it notice a stop request).</summary>
    public void ForceWake()
    {
        Interlocked.Increment(ref *_sequence);
        _ = Libc.futex_wake(_sequence, int.MaxValue);
    }
}
