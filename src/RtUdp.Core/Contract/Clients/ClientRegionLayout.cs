using System.Numerics;

namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// A same-host client's region (docs/shm-clients.md): a 4096-byte header page, then the TX ring, then the
/// RX ring, in one sealed memfd. Every word a different party writes sits on a 128-byte line of its own.
/// Little-endian; offsets in bytes.
/// </summary>
public static class ClientRegionLayout
{
    /// <summary>"RTSH".</summary>
    public const uint Magic = 0x48535452;

    /// <summary>Bump whenever a field, a ring's placement or a record changes.</summary>
    public const uint Version = 1;

    public const int HeaderLength = 4096;

    // Written by the daemon before anyone else maps the region.
    public const int MagicOffset = 0;
    public const int VersionOffset = 4;
    public const int TotalLengthOffset = 8;
    public const int ChannelIdOffset = 16;
    public const int ClientIdOffset = 20;
    public const int FlagsOffset = 24;
    public const int MaxPayloadOffset = 28;
    public const int TxCapacityOffset = 32;
    public const int RxCapacityOffset = 36;
    public const int TxRingOffsetOffset = 40;
    public const int RxRingOffsetOffset = 48;
    public const int HorizonNsOffset = 56;

    // State line: daemon and engine.
    public const int StateOffset = 128;
    public const int StatusOffset = 132;
    public const int EpochOffset = 136;
    public const int MessageOffset = 144;
    public const int MessageLength = 112;

    /// <summary>u64[<see cref="CounterSlots"/>], written by the engine (<see cref="ClientCounter"/>).</summary>
    public const int CountersOffset = 256;
    public const int CounterSlots = 16;

    /// <summary>i64, the client: TX bytes published (release-store after the records are written).</summary>
    public const int TxTailOffset = 384;

    /// <summary>i64, the engine: TX bytes consumed.</summary>
    public const int TxHeadOffset = 512;

    /// <summary>i32, the engine: 1 while the intake agent is about to sleep.</summary>
    public const int IntakeParkedOffset = 640;

    /// <summary>i32 futex word, the client: incremented (then FUTEX_WAKE) when intake parked ≠ 0.</summary>
    public const int TxDoorbellOffset = 768;

    /// <summary>i64, the engine: RX bytes published.</summary>
    public const int RxTailOffset = 896;

    /// <summary>i64, the client: RX bytes consumed.</summary>
    public const int RxHeadOffset = 1024;

    /// <summary>i32, the client: 1 while it is about to sleep in receive.</summary>
    public const int RxParkedOffset = 1152;

    /// <summary>i32 futex word, the engine: incremented (then FUTEX_WAKE) when RX parked ≠ 0.</summary>
    public const int RxDoorbellOffset = 1280;

    /// <summary>The TX ring starts right after the header page.</summary>
    public const int TxRingOffset = HeaderLength;

    public const int MinRingCapacity = 4096;

    /// <summary>Largest ring the contract allows (positions and lengths stay within int arithmetic).</summary>
    public const int MaxRingCapacity = 1 << 30;

    /// <summary>Rings are this big unless the client asks otherwise.</summary>
    public const int DefaultRingCapacity = 1 << 20;

    /// <summary>Where the RX ring starts: after the TX ring.</summary>
    public static long RxRingOffset(int txCapacity) => (long)TxRingOffset + txCapacity;

    /// <summary>The region's length: header page, TX ring, RX ring.</summary>
    public static long TotalLength(int txCapacity, int rxCapacity) => (long)HeaderLength + txCapacity + rxCapacity;

    /// <summary>0 (no ring) or a power of two from <see cref="MinRingCapacity"/> to <see cref="MaxRingCapacity"/>.</summary>
    public static bool IsValidCapacity(long capacity) =>
        capacity == 0 || (capacity >= MinRingCapacity && capacity <= MaxRingCapacity && BitOperations.IsPow2(capacity));

    /// <summary>Records are 8-byte aligned.</summary>
    public static int Align(int length) => (length + 7) & ~7;
}

/// <summary>Bits of the region's flags word.</summary>
public static class ClientRegionFlags
{
    public const uint Send = 1;
    public const uint Receive = 2;
    public const uint All = Send | Receive;
}
