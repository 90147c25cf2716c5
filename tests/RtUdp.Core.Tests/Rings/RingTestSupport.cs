using System.Diagnostics;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Tests.Rings;

/// <summary>
/// Zeroed, 64-byte aligned native memory for one ring (data area + trailer), as production maps it.
/// </summary>
internal sealed unsafe class RingMemory : IDisposable
{
    private byte* _memory;

    public RingMemory(int capacity)
    {
        nuint total = (nuint)RecordRing.TotalLength(capacity);
        _memory = (byte*)NativeMemory.AlignedAlloc(total, 64);
        NativeMemory.Clear(_memory, total);
        Ring = new RecordRing(_memory, capacity);
    }

    public RecordRing Ring { get; }

    public byte* Memory => _memory;

    /// <summary>Parked-flag word of the consumer's EventCount.</summary>
    public int* ParkedWord => (int*)(_memory + Ring.Capacity + RingTrailer.ConsumerWait);

    /// <summary>Sequence (futex) word of the consumer's EventCount.</summary>
    public int* SequenceWord => ParkedWord + 1;

    /// <summary>
    /// Leaks the block instead of freeing it: used when a worker thread failed to stop in time
    /// and might still touch the memory.
    /// </summary>
    public void Abandon() => _memory = null;

    public void Dispose()
    {
        if (_memory != null)
        {
            NativeMemory.AlignedFree(_memory);
            _memory = null;
        }
    }
}

internal static unsafe class RingTestData
{
    /// <summary>Deterministic content for byte <paramref name="i"/> of record <paramref name="seq"/>.</summary>
    public static byte Pattern(long seq, int i) =>
        unchecked((byte)((((ulong)seq * 0x9E3779B97F4A7C15UL) >> 56) + ((ulong)i * 131) + ((ulong)i >> 8) + 1));

    public static void Fill(byte* body, int length, long seq)
    {
        for (int i = 0; i < length; i++)
        {
            body[i] = Pattern(seq, i);
        }
    }

    /// <summary>Index of the first byte that differs from the pattern, or -1.</summary>
    public static int FirstMismatch(byte* body, int length, long seq)
    {
        for (int i = 0; i < length; i++)
        {
            if (body[i] != Pattern(seq, i))
            {
                return i;
            }
        }
        return -1;
    }

    public static byte[] Make(int length, long seq)
    {
        var body = new byte[length];
        for (int i = 0; i < length; i++)
        {
            body[i] = Pattern(seq, i);
        }
        return body;
    }

    /// <summary>Aligned bytes a record with a body of <paramref name="bodyLength"/> occupies.</summary>
    public static int Footprint(int bodyLength) => RecordDescriptor.Align(bodyLength + RecordDescriptor.HeaderLength);

    /// <summary>Joins a worker thread within the time left, failing the test (and leaking the ring) if it hangs.</summary>
    public static void JoinOrFail(Thread thread, Stopwatch clock, TimeSpan budget, RingMemory memory, string what)
    {
        TimeSpan left = budget - clock.Elapsed;
        if (left < TimeSpan.FromSeconds(1))
        {
            left = TimeSpan.FromSeconds(1);
        }
        if (!thread.Join(left))
        {
            memory.Abandon();
            Assert.Fail($"{what} did not finish within {budget.TotalSeconds:F0} s.");
        }
    }
}

/// <summary>One record as a consumer saw it.</summary>
internal readonly record struct SeenRecord(int Type, byte[] Body);

/// <summary>Copies every record it is handed; stops after <see cref="StopAfter"/> records if positive.</summary>
internal unsafe struct CollectingHandler : IRecordHandler
{
    public List<SeenRecord> Records;
    public int StopAfter;

    public CollectingHandler()
    {
        Records = [];
        StopAfter = 0;
    }

    public bool OnRecord(int type, byte* body, int length)
    {
        Records.Add(new SeenRecord(type, new ReadOnlySpan<byte>(body, length).ToArray()));
        return StopAfter <= 0 || Records.Count < StopAfter;
    }
}
