using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>A sent packet and the kernel stamps gathered for it so far (CLOCK_MONOTONIC, 0 = not yet).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StampedPacket
{
    public long PacketId;
    public long DueNs;
    public long WakeNs;
    public long SentNs;
    public long SchedNs;
    public long SoftwareNs;
    public long HardwareNs;
    public long HardwareRawNs;
    public long LaunchTimeNs;
    public long ExpiresAtNs;
    public uint Key;
    public int Waiting;
    public int Outcome;
    public int ClientTag;
    public long IngestNs;
    public int Flags;
    public int Padding;

    /// <summary>The tracker's number for the packet (its place in send order).</summary>
    public long Number;
}

/// <summary>Receives packets whose stamps are complete (or will never complete).</summary>
public interface IStampCompletion
{
    /// <param name="missing">The awaited stamp did not come in time.</param>
    void OnComplete(ref StampedPacket packet, bool missing);
}

/// <summary>
/// Packets awaiting their kernel TX stamps, matched by the socket's SOF_TIMESTAMPING_OPT_ID counter: the
/// kernel numbers each datagram it builds 0, 1, 2... in send order (one sendmsg, one key), and every stamp on
/// the error queue carries that number. A GSO train is one datagram: its key, and its stamps (the kernel stamps
/// the train's first segment only), belong to all its packets. Two tables in native memory, one indexed by
/// packet number and one by key (both mod their size): no allocation, no search. A packet completes when the
/// awaited stage (software SND, or hardware) arrives, or when its time runs out (hardware stamps can be tens of
/// milliseconds late, or never).
/// </summary>
public sealed unsafe class TxStampTracker : IDisposable
{
    /// <summary>A datagram the kernel numbered: its packets are [First, First + Count).</summary>
    private struct Datagram
    {
        public long First;
        public uint Key;
        public int Count;
    }

    private readonly StampedPacket* _table;
    private readonly Datagram* _datagrams;
    private readonly int _mask;
    private readonly bool _awaitHardware;
    private readonly long _timeoutNs;
    private uint _nextKey;
    private long _nextPacket;
    private long _oldestPacket;

    // Whether the last key went to a datagram still open for the packets of its train.
    private bool _datagramOpen;

    public TxStampTracker(int capacity, bool awaitHardware, long timeoutNs)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _mask = size - 1;
        _table = (StampedPacket*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(StampedPacket));
        // As many keys as packets: a key's entry is reused only after as many datagrams, so as many packets at least.
        _datagrams = (Datagram*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(Datagram));
        _awaitHardware = awaitHardware;
        _timeoutNs = timeoutNs;
    }

    /// <summary>Packets sent and not yet completed.</summary>
    public int Outstanding => (int)(_nextPacket - _oldestPacket);

    /// <summary>Stamps whose key matched no packet awaiting one.</summary>
    public long Unmatched { get; private set; }

    /// <summary>Packets stamped, by stage: a train's one stamp counts for each of its packets.</summary>
    public long Sched { get; private set; }

    public long Software { get; private set; }

    public long Hardware { get; private set; }

    /// <summary>The OPT_ID the kernel will give the next datagram (it restarts at 0 when OPT_ID is switched on).</summary>
    public uint NextKey => _nextKey;

    /// <summary>Records a packet the kernel accepted.</summary>
    /// <param name="sameDatagram">It is a later segment of the train the previous packet began: it shares that key.
    /// Otherwise it begins a datagram, which takes the next key.</param>
    /// <param name="completion">Completes the packet pushed out of the table if it is full.</param>
    public void Track<T>(in StampedPacket packet, long nowNs, bool sameDatagram, ref T completion)
        where T : struct, IStampCompletion
    {
        if (!sameDatagram || !_datagramOpen)
        {
            ref Datagram opened = ref _datagrams[_nextKey & (uint)_mask];
            opened.Key = _nextKey++;
            opened.First = _nextPacket;
            opened.Count = 0;
            _datagramOpen = true;
        }
        ref Datagram datagram = ref _datagrams[(_nextKey - 1) & (uint)_mask];
        long number = _nextPacket;
        ref StampedPacket slot = ref _table[number & _mask];
        if (slot.Waiting != 0)
        {
            // The table is full: the oldest packet gives up waiting. Before this packet is counted, so that
            // moving the oldest past the completed ones stops short of it.
            Complete(ref slot, missing: true, ref completion);
        }
        _nextPacket++;
        slot = packet;
        slot.Key = datagram.Key;
        slot.Number = number;
        slot.Waiting = 1;
        slot.ExpiresAtNs = nowNs + _timeoutNs;
        datagram.Count++;
    }

    /// <summary>
    /// The kernel took a key for a datagram it then refused (a GSO train refused after it was built): the next
    /// datagram's key is one further on.
    /// </summary>
    public void SkipKey()
    {
        ref Datagram skipped = ref _datagrams[_nextKey & (uint)_mask];
        skipped.Key = _nextKey++;
        skipped.First = _nextPacket;
        skipped.Count = 0;
        _datagramOpen = false;
    }

    /// <summary>Takes one error-queue stamp, for every packet of its datagram. Stamps of other kinds are the caller's business.</summary>
    /// <param name="realtime">CLOCK_REALTIME − CLOCK_MONOTONIC read after the stamp was drained.</param>
    /// <param name="earlierRealtime">The same read before (the previous drain; invalid if none): converts a
    /// software stamp taken before a wall-clock step that came between it and <paramref name="realtime"/>.</param>
    public void OnStamp<T>(in ErrQueueMessage message, in ClockOffset realtime, in ClockOffset earlierRealtime, long phcMinusMonotonic, bool phcValid, ref T completion)
        where T : struct, IStampCompletion
    {
        uint key = message.StampId;
        Datagram datagram = _datagrams[key & (uint)_mask];
        bool matched = false;
        if (datagram.Key == key)
        {
            for (long number = datagram.First; number < datagram.First + datagram.Count; number++)
            {
                ref StampedPacket slot = ref _table[number & _mask];
                // A packet already completed (timed out, pushed out) no longer waits; its slot may hold a later one.
                if (slot.Waiting != 0 && slot.Number == number)
                {
                    matched = true;
                    Apply(ref slot, message, realtime, earlierRealtime, phcMinusMonotonic, phcValid, ref completion);
                }
            }
        }
        if (!matched)
        {
            Unmatched++;
        }
    }

    private void Apply<T>(ref StampedPacket slot, in ErrQueueMessage message, in ClockOffset realtime, in ClockOffset earlierRealtime, long phcMinusMonotonic, bool phcValid, ref T completion)
        where T : struct, IStampCompletion
    {
        if (message.SoftwareNs != 0)
        {
            // Taken after the packet's sendmmsg began and before the drain's clock read.
            long software = RealtimeStampConversion.ToMonotonic(message.SoftwareNs, realtime, earlierRealtime, slot.SentNs, realtime.SampledAtMonotonicNs);
            if (message.StampType == Libc.SCM_TSTAMP_SCHED)
            {
                slot.SchedNs = software;
                Sched++;
            }
            else if (message.StampType == Libc.SCM_TSTAMP_SND)
            {
                slot.SoftwareNs = software;
                Software++;
            }
        }
        if (message.HardwareNs != 0 && message.StampType == Libc.SCM_TSTAMP_SND)
        {
            slot.HardwareRawNs = message.HardwareNs;
            slot.HardwareNs = phcValid ? message.HardwareNs - phcMinusMonotonic : 0;
            Hardware++;
        }
        bool done = _awaitHardware ? slot.HardwareRawNs != 0 : slot.SoftwareNs != 0;
        if (done)
        {
            Complete(ref slot, missing: false, ref completion);
        }
    }

    /// <summary>Completes, as missing, every packet whose wait has run out.</summary>
    public void Expire<T>(long nowNs, ref T completion)
        where T : struct, IStampCompletion
    {
        while (_oldestPacket != _nextPacket)
        {
            ref StampedPacket slot = ref _table[_oldestPacket & _mask];
            if (slot.Waiting != 0 && slot.Number == _oldestPacket)
            {
                if (slot.ExpiresAtNs > nowNs)
                {
                    return;
                }
                // Complete moves the oldest packet past this one (and any completed after it): counting it
                // here as well skipped the next packet, left waiting for good behind the oldest.
                Complete(ref slot, missing: true, ref completion);
                continue;
            }
            _oldestPacket++;
        }
    }

    /// <summary>Completes everything still waiting (the worker is stopping).</summary>
    public void Flush<T>(ref T completion)
        where T : struct, IStampCompletion => Expire(long.MaxValue, ref completion);

    private void Complete<T>(ref StampedPacket slot, bool missing, ref T completion)
        where T : struct, IStampCompletion
    {
        slot.Waiting = 0;
        completion.OnComplete(ref slot, missing);
        // Advance past any completed packets at the old end.
        while (_oldestPacket != _nextPacket)
        {
            ref StampedPacket oldest = ref _table[_oldestPacket & _mask];
            if (oldest.Waiting != 0 && oldest.Number == _oldestPacket)
            {
                break;
            }
            _oldestPacket++;
        }
    }

    public void Dispose()
    {
        NativeMemory.Free(_table);
        NativeMemory.Free(_datagrams);
    }
}
