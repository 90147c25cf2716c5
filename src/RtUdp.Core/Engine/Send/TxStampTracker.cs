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
}

/// <summary>Receives packets whose stamps are complete (or will never complete).</summary>
public interface IStampCompletion
{
    /// <param name="missing">The awaited stamp did not come in time.</param>
    void OnComplete(ref StampedPacket packet, bool missing);
}

/// <summary>
/// Packets awaiting their kernel TX stamps, keyed by the socket's SOF_TIMESTAMPING_OPT_ID counter:
/// the kernel numbers each datagram it stamps 0, 1, 2... in send order, and every stamp on the
/// error queue carries that number. A table indexed by key (mod its size) in native memory: no
/// allocation, no search. A packet completes when the awaited stage (software SND, or hardware)
/// arrives, or when its time runs out (hardware stamps can be tens of milliseconds late, or never).
/// </summary>
public sealed unsafe class TxStampTracker : IDisposable
{
    private readonly StampedPacket* _table;
    private readonly int _mask;
    private readonly bool _awaitHardware;
    private readonly long _timeoutNs;
    private uint _nextKey;
    private uint _oldestKey;

    public TxStampTracker(int capacity, bool awaitHardware, long timeoutNs)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _mask = size - 1;
        _table = (StampedPacket*)NativeMemory.AllocZeroed((nuint)size, (nuint)sizeof(StampedPacket));
        _awaitHardware = awaitHardware;
        _timeoutNs = timeoutNs;
    }

    /// <summary>Packets sent and not yet completed.</summary>
    public int Outstanding => (int)(_nextKey - _oldestKey);

    public long Unmatched { get; private set; }

    public long Sched { get; private set; }

    public long Software { get; private set; }

    public long Hardware { get; private set; }

    /// <summary>The OPT_ID the kernel will give the next datagram (it restarts at 0 when OPT_ID is switched on).</summary>
    public uint NextKey => _nextKey;

    /// <summary>Records a datagram the kernel accepted; it takes the next key.</summary>
    /// <param name="completion">Completes the packet pushed out of the table if it is full.</param>
    public void Track<T>(in StampedPacket packet, long nowNs, ref T completion)
        where T : struct, IStampCompletion
    {
        uint key = _nextKey++;
        ref StampedPacket slot = ref _table[key & (uint)_mask];
        if (slot.Waiting != 0)
        {
            // The table is full: the oldest packet gives up waiting.
            Complete(ref slot, missing: true, ref completion);
        }
        slot = packet;
        slot.Key = key;
        slot.Waiting = 1;
        slot.ExpiresAtNs = nowNs + _timeoutNs;
    }

    /// <summary>Takes one error-queue stamp. Stamps of other kinds are the caller's business.</summary>
    /// <param name="realtime">CLOCK_REALTIME − CLOCK_MONOTONIC read after the stamp was drained.</param>
    /// <param name="earlierRealtime">The same read before (the previous drain; invalid if none): converts a
    /// software stamp taken before a wall-clock step that came between it and <paramref name="realtime"/>.</param>
    public void OnStamp<T>(in ErrQueueMessage message, in ClockOffset realtime, in ClockOffset earlierRealtime, long phcMinusMonotonic, bool phcValid, ref T completion)
        where T : struct, IStampCompletion
    {
        uint key = message.StampId;
        ref StampedPacket slot = ref _table[key & (uint)_mask];
        if (slot.Waiting == 0 || slot.Key != key)
        {
            Unmatched++;
            return;
        }
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
        while (_oldestKey != _nextKey)
        {
            ref StampedPacket slot = ref _table[_oldestKey & (uint)_mask];
            if (slot.Waiting != 0 && slot.Key == _oldestKey)
            {
                if (slot.ExpiresAtNs > nowNs)
                {
                    return;
                }
                // Complete moves the oldest key past this packet (and any completed after it): counting it
                // here as well skipped the next packet, left waiting for good behind the oldest key.
                Complete(ref slot, missing: true, ref completion);
                continue;
            }
            _oldestKey++;
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
        while (_oldestKey != _nextKey)
        {
            ref StampedPacket oldest = ref _table[_oldestKey & (uint)_mask];
            if (oldest.Waiting != 0 && oldest.Key == _oldestKey)
            {
                break;
            }
            _oldestKey++;
        }
    }

    public void Dispose() => NativeMemory.Free(_table);
}
