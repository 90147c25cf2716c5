using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Concurrency;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// A same-host client's region mapped into this process (docs/shm-clients.md): the daemon creates it
/// (<see cref="CreateMemfd"/>), the engine and the client map the memfd they are handed (<see cref="Map"/>).
/// </summary>
/// <remarks>
/// The header values are read once, when the region is created or mapped, validated, and kept in fields:
/// the client can scribble over its own header afterwards, and nothing here reads it back.
/// </remarks>
public sealed unsafe class ClientRegion : IDisposable
{
    private byte* _base;

    private ClientRegion(byte* address, long length, in ClientRegionSpec spec)
    {
        _base = address;
        Length = length;
        ChannelId = spec.ChannelId;
        ClientId = spec.ClientId;
        Flags = spec.Flags;
        MaxPayload = (int)spec.MaxPayload;
        TxCapacity = spec.TxCapacity;
        RxCapacity = spec.RxCapacity;
        HorizonNs = spec.HorizonNs;
    }

    public long Length { get; }

    public uint ChannelId { get; }

    public uint ClientId { get; }

    /// <summary><see cref="ClientRegionFlags"/>.</summary>
    public uint Flags { get; }

    public int MaxPayload { get; }

    public int TxCapacity { get; }

    public int RxCapacity { get; }

    /// <summary>0: no limit.</summary>
    public long HorizonNs { get; }

    public bool Sends => (Flags & ClientRegionFlags.Send) != 0;

    public bool Receives => (Flags & ClientRegionFlags.Receive) != 0;

    public byte* Pointer => _base != null ? _base : throw new ObjectDisposedException(nameof(ClientRegion));

    /// <summary>
    /// The daemon's side: a sealed memfd of <see cref="ClientRegionLayout.TotalLength"/> bytes with its header
    /// written and state <see cref="ClientState.Attached"/>. The seals (shrink, grow, seal) are added before
    /// anyone else gets the descriptor, so no holder can truncate the region under the engine (SIGBUS).
    /// </summary>
    public static (SafeFileHandle Memfd, ClientRegion Region) CreateMemfd(string name, in ClientRegionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(name);
        string? problem = Validate(spec);
        if (problem is not null)
        {
            throw new ArgumentException($"Client region spec: {problem}.", nameof(spec));
        }

        long length = ClientRegionLayout.TotalLength(spec.TxCapacity, spec.RxCapacity);
        byte[] nameBytes = new byte[Encoding.UTF8.GetByteCount(name) + 1];
        Encoding.UTF8.GetBytes(name, nameBytes);
        int fd;
        fixed (byte* p = nameBytes)
        {
            fd = memfd_create(p, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        }
        Errno.Check(fd, "memfd_create");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Errno.Check(ftruncate(fd, length), "ftruncate(memfd)");
            Errno.Check(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), "fcntl(F_ADD_SEALS)");
            byte* address = MapShared(fd, length, prefault: false);
            var region = new ClientRegion(address, length, spec);
            region.WriteHeader(spec);
            return (handle, region);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The engine's and the client's side: maps the memfd whole and validates its header against its size.
    /// The descriptor stays the caller's (a mapping outlives the descriptor).
    /// </summary>
    /// <param name="prefault">Populate the pages now (the engine: no first-touch fault on the intake thread).</param>
    /// <exception cref="ClientRegionException">Not a client region, another layout version, or inconsistent lengths.</exception>
    public static ClientRegion Map(int fd, bool prefault = false)
    {
        stat st;
        Errno.Check(fstat(fd, &st), "fstat(client region)");
        long size = st.st_size;
        if (size < ClientRegionLayout.HeaderLength)
        {
            throw new ClientRegionException(ShmStatus.Invalid, $"The client region is {size} bytes, shorter than its {ClientRegionLayout.HeaderLength}-byte header.");
        }

        byte* address = MapShared(fd, size, prefault);
        try
        {
            ClientRegionSpec spec = ReadHeader(address, size);
            return new ClientRegion(address, size, spec);
        }
        catch
        {
            _ = munmap(address, (size_t)(nuint)size);
            throw;
        }
    }

    /// <summary>Why <paramref name="spec"/> cannot describe a region, or null.</summary>
    public static string? Validate(in ClientRegionSpec spec)
    {
        if ((spec.Flags & ~ClientRegionFlags.All) != 0)
        {
            return $"flags 0x{spec.Flags:x} has unknown bits";
        }
        if (!ClientRegionLayout.IsValidCapacity(spec.TxCapacity))
        {
            return $"TX ring capacity {spec.TxCapacity} is not 0 or a power of two from {ClientRegionLayout.MinRingCapacity} to {ClientRegionLayout.MaxRingCapacity}";
        }
        if (!ClientRegionLayout.IsValidCapacity(spec.RxCapacity))
        {
            return $"RX ring capacity {spec.RxCapacity} is not 0 or a power of two from {ClientRegionLayout.MinRingCapacity} to {ClientRegionLayout.MaxRingCapacity}";
        }
        if ((spec.Flags & ClientRegionFlags.Send) != 0 && spec.TxCapacity == 0)
        {
            return "a sending client needs a TX ring";
        }
        if ((spec.Flags & ClientRegionFlags.Receive) != 0 && spec.RxCapacity == 0)
        {
            return "a receiving client needs an RX ring";
        }
        if (spec.MaxPayload == 0 || spec.MaxPayload > 1 << 20)
        {
            return $"max payload {spec.MaxPayload} is not 1 to {1 << 20}";
        }
        if (spec.TxCapacity != 0 && ClientTxRecord.RecordLength((int)spec.MaxPayload) > spec.TxCapacity)
        {
            return $"a TX ring of {spec.TxCapacity} bytes cannot hold one packet of max payload {spec.MaxPayload}";
        }
        if (spec.RxCapacity != 0 && ClientRxRecord.RecordLength((int)spec.MaxPayload) > spec.RxCapacity)
        {
            return $"an RX ring of {spec.RxCapacity} bytes cannot hold one packet of max payload {spec.MaxPayload}";
        }
        if (spec.HorizonNs < 0)
        {
            return $"horizon {spec.HorizonNs} ns is negative";
        }
        return null;
    }

    // ---------------------------------------------------------------- state (daemon, engine)

    public ClientState State => (ClientState)Volatile.Read(ref *(int*)(Pointer + ClientRegionLayout.StateOffset));

    public ShmStatus Status => (ShmStatus)Volatile.Read(ref *(int*)(Pointer + ClientRegionLayout.StatusOffset));

    public uint Epoch => Volatile.Read(ref *(uint*)(Pointer + ClientRegionLayout.EpochOffset));

    /// <summary>The state message (allocates: not for the engine's real-time path).</summary>
    public string Message
    {
        get
        {
            var bytes = new ReadOnlySpan<byte>(Pointer + ClientRegionLayout.MessageOffset, ClientRegionLayout.MessageLength);
            int end = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }

    /// <summary>
    /// Sets the state with its status and message: message and status first, then the state (release), so a
    /// reader that sees the state sees why. Allocates nothing (the engine faults a client with it).
    /// </summary>
    public void SetState(ClientState state, ShmStatus status, ReadOnlySpan<char> message)
    {
        var text = new Span<byte>(Pointer + ClientRegionLayout.MessageOffset, ClientRegionLayout.MessageLength);
        // Leaves room for the NUL; a message too long is cut at a whole character.
        _ = Utf8.FromUtf16(message, text[..^1], out _, out int written);
        text[written..].Clear();
        Volatile.Write(ref *(int*)(Pointer + ClientRegionLayout.StatusOffset), (int)status);
        Volatile.Write(ref *(int*)(Pointer + ClientRegionLayout.StateOffset), (int)state);
    }

    /// <summary>The daemon, at each reattach.</summary>
    public void SetEpoch(uint epoch) => Volatile.Write(ref *(uint*)(Pointer + ClientRegionLayout.EpochOffset), epoch);

    // ---------------------------------------------------------------- counters (engine)

    public ulong Counter(ClientCounter counter) => Volatile.Read(ref CounterSlot(counter));

    /// <summary>The engine's intake agent only (one writer per region).</summary>
    public void AddCounter(ClientCounter counter, ulong delta = 1)
    {
        ref ulong slot = ref CounterSlot(counter);
        Volatile.Write(ref slot, slot + delta);
    }

    private ref ulong CounterSlot(ClientCounter counter)
    {
        if ((uint)counter >= ClientRegionLayout.CounterSlots)
        {
            throw new ArgumentOutOfRangeException(nameof(counter), counter, "No such client counter.");
        }
        return ref *(ulong*)(Pointer + ClientRegionLayout.CountersOffset + ((int)counter * sizeof(ulong)));
    }

    // ---------------------------------------------------------------- positions (racy snapshots)

    public long TxTail => Volatile.Read(ref *(long*)(Pointer + ClientRegionLayout.TxTailOffset));

    public long TxHead => Volatile.Read(ref *(long*)(Pointer + ClientRegionLayout.TxHeadOffset));

    public long RxTail => Volatile.Read(ref *(long*)(Pointer + ClientRegionLayout.RxTailOffset));

    public long RxHead => Volatile.Read(ref *(long*)(Pointer + ClientRegionLayout.RxHeadOffset));

    // ---------------------------------------------------------------- intake agent's sleep (engine)

    /// <summary>The TX doorbell, a shared futex word the intake agent waits on.</summary>
    public int* TxDoorbellAddress => IntakeWait.SequenceWord;

    /// <summary>
    /// The intake agent's sleep on this client's TX ring: the client publishes, then signals; the agent prepares, re-checks
    /// the TX tail, then waits (in one futex_waitv over every client, on the doorbell with the ticket).
    /// </summary>
    public EventCount IntakeWait => TxWaitOf(Pointer);

    /// <summary>The client's sleep in receive: the engine publishes RX records, then signals.</summary>
    public EventCount ReceiveWait => RxWaitOf(Pointer);

    internal static EventCount RxWaitOf(byte* header) =>
        new((int*)(header + ClientRegionLayout.RxParkedOffset), (int*)(header + ClientRegionLayout.RxDoorbellOffset));

    internal static EventCount TxWaitOf(byte* header) =>
        new((int*)(header + ClientRegionLayout.IntakeParkedOffset), (int*)(header + ClientRegionLayout.TxDoorbellOffset));

    // ---------------------------------------------------------------- ring views

    /// <summary>The client's producer view of the TX ring.</summary>
    public ClientTxWriter TxWriter() => new(Pointer, RequireRing(TxCapacity, "TX"), MaxPayload);

    /// <summary>The engine's consumer view of the TX ring.</summary>
    public ClientTxReader TxReader() => TxReader(0);

    /// <summary>The engine's consumer view, with a horizon of its own (the attachment's limit; 0: the region's).</summary>
    public ClientTxReader TxReader(long horizonNs) =>
        new(Pointer, RequireRing(TxCapacity, "TX"), MaxPayload, horizonNs > 0 ? horizonNs : HorizonNs);

    /// <summary>The engine's producer view of the RX ring.</summary>
    public ClientRxWriter RxWriter() => new(Pointer, Pointer + ClientRegionLayout.RxRingOffset(TxCapacity), RequireRing(RxCapacity, "RX"));

    /// <summary>The client's consumer view of the RX ring.</summary>
    public ClientRxReader RxReader() => new(Pointer, Pointer + ClientRegionLayout.RxRingOffset(TxCapacity), RequireRing(RxCapacity, "RX"));

    private static int RequireRing(int capacity, string ring) =>
        capacity != 0 ? capacity : throw new InvalidOperationException($"This client region has no {ring} ring.");

    // ---------------------------------------------------------------- header

    private void WriteHeader(in ClientRegionSpec spec)
    {
        byte* p = _base;
        *(long*)(p + ClientRegionLayout.TotalLengthOffset) = Length;
        *(uint*)(p + ClientRegionLayout.ChannelIdOffset) = spec.ChannelId;
        *(uint*)(p + ClientRegionLayout.ClientIdOffset) = spec.ClientId;
        *(uint*)(p + ClientRegionLayout.FlagsOffset) = spec.Flags;
        *(uint*)(p + ClientRegionLayout.MaxPayloadOffset) = spec.MaxPayload;
        *(int*)(p + ClientRegionLayout.TxCapacityOffset) = spec.TxCapacity;
        *(int*)(p + ClientRegionLayout.RxCapacityOffset) = spec.RxCapacity;
        *(long*)(p + ClientRegionLayout.TxRingOffsetOffset) = ClientRegionLayout.TxRingOffset;
        *(long*)(p + ClientRegionLayout.RxRingOffsetOffset) = ClientRegionLayout.RxRingOffset(spec.TxCapacity);
        *(long*)(p + ClientRegionLayout.HorizonNsOffset) = spec.HorizonNs;
        *(uint*)(p + ClientRegionLayout.VersionOffset) = ClientRegionLayout.Version;
        SetState(ClientState.Attached, ShmStatus.Ok, "attached");
        // Release store last: a mapper that sees the magic sees the whole header.
        Volatile.Write(ref *(uint*)(p + ClientRegionLayout.MagicOffset), ClientRegionLayout.Magic);
    }

    private static ClientRegionSpec ReadHeader(byte* p, long size)
    {
        uint magic = Volatile.Read(ref *(uint*)(p + ClientRegionLayout.MagicOffset));
        if (magic != ClientRegionLayout.Magic)
        {
            throw new ClientRegionException(ShmStatus.Invalid, $"Not a client region: magic 0x{magic:x8}, expected 0x{ClientRegionLayout.Magic:x8}.");
        }
        uint version = *(uint*)(p + ClientRegionLayout.VersionOffset);
        if (version != ClientRegionLayout.Version)
        {
            throw new ClientRegionException(ShmStatus.Version, $"Client region layout version {version}; this build reads version {ClientRegionLayout.Version}.");
        }
        var spec = new ClientRegionSpec
        {
            ChannelId = *(uint*)(p + ClientRegionLayout.ChannelIdOffset),
            ClientId = *(uint*)(p + ClientRegionLayout.ClientIdOffset),
            Flags = *(uint*)(p + ClientRegionLayout.FlagsOffset),
            MaxPayload = *(uint*)(p + ClientRegionLayout.MaxPayloadOffset),
            TxCapacity = *(int*)(p + ClientRegionLayout.TxCapacityOffset),
            RxCapacity = *(int*)(p + ClientRegionLayout.RxCapacityOffset),
            HorizonNs = *(long*)(p + ClientRegionLayout.HorizonNsOffset),
        };
        long totalLength = *(long*)(p + ClientRegionLayout.TotalLengthOffset);
        long txOffset = *(long*)(p + ClientRegionLayout.TxRingOffsetOffset);
        long rxOffset = *(long*)(p + ClientRegionLayout.RxRingOffsetOffset);
        string? problem = Validate(spec);
        if (problem is not null)
        {
            throw new ClientRegionException(ShmStatus.Invalid, $"Client region header: {problem}.");
        }
        long expected = ClientRegionLayout.TotalLength(spec.TxCapacity, spec.RxCapacity);
        if (totalLength != size || expected != size)
        {
            throw new ClientRegionException(ShmStatus.Invalid,
                $"Client region header: total length {totalLength}, rings need {expected}, but the memfd is {size} bytes.");
        }
        if (txOffset != ClientRegionLayout.TxRingOffset || rxOffset != ClientRegionLayout.RxRingOffset(spec.TxCapacity))
        {
            throw new ClientRegionException(ShmStatus.Invalid,
                $"Client region header: ring offsets {txOffset} and {rxOffset}, expected {ClientRegionLayout.TxRingOffset} and {ClientRegionLayout.RxRingOffset(spec.TxCapacity)}.");
        }
        return spec;
    }

    private static byte* MapShared(int fd, long length, bool prefault)
    {
        int flags = MAP_SHARED | (prefault ? MAP_POPULATE : 0);
        void* address = mmap(null, (size_t)(nuint)length, PROT_READ | PROT_WRITE, flags, fd, 0);
        if (address == MAP_FAILED)
        {
            Errno.ThrowFor(Marshal.GetLastPInvokeError(), "mmap(client region)");
        }
        return (byte*)address;
    }

    public void Dispose()
    {
        if (_base != null)
        {
            _ = munmap(_base, (size_t)(nuint)Length);
            _base = null;
        }
    }
}
