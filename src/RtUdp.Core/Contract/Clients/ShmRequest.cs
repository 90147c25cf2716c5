using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Contract.Memory;

namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// A request to the broker (docs/shm-clients.md, "Broker protocol"): 96 bytes, little-endian, one per
/// SOCK_SEQPACKET message. The offsets are ABI (a Python test builds it with struct.pack "&lt;IIII64sIIQ").
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct ShmRequest
{
    public const int Size = 96;
    public const int ChannelNameBytes = 64;

    [FieldOffset(0)] public uint Magic;
    [FieldOffset(4)] public uint AbiVersion;
    [FieldOffset(8)] public uint Op;

    /// <summary><see cref="ShmAbi.AttachSend"/> | <see cref="ShmAbi.AttachReceive"/>; 0: as the channel's direction.</summary>
    [FieldOffset(12)] public uint Flags;

    /// <summary>UTF-8, NUL-terminated.</summary>
    [FieldOffset(16)] public fixed byte ChannelName[ChannelNameBytes];

    /// <summary>0: <see cref="ShmAbi.DefaultRingBytes"/>.</summary>
    [FieldOffset(80)] public uint TxRingBytes;

    /// <summary>0: <see cref="ShmAbi.DefaultRingBytes"/>.</summary>
    [FieldOffset(84)] public uint RxRingBytes;

    /// <summary>Must be 0.</summary>
    [FieldOffset(88)] public ulong Reserved;

    /// <summary>Whether <paramref name="channel"/> fits the name field with its NUL (a longer one would be cut).</summary>
    public static bool FitsChannelName(string channel) => Encoding.UTF8.GetByteCount(channel) < ChannelNameBytes;

    public static ShmRequest Attach(string channel, uint flags, uint txRingBytes, uint rxRingBytes)
    {
        var request = new ShmRequest
        {
            Magic = ShmAbi.RequestMagic,
            AbiVersion = ShmAbi.Version,
            Op = ShmAbi.OpAttach,
            Flags = flags,
            TxRingBytes = txRingBytes,
            RxRingBytes = rxRingBytes,
        };
        request.SetChannel(channel);
        return request;
    }

    public static ShmRequest Detach() => new() { Magic = ShmAbi.RequestMagic, AbiVersion = ShmAbi.Version, Op = ShmAbi.OpDetach };

    public void SetChannel(string? channel)
    {
        fixed (byte* name = ChannelName)
        {
            FixedText.Write(channel, name, ChannelNameBytes);
        }
    }

    public readonly string GetChannel()
    {
        fixed (byte* name = ChannelName)
        {
            return FixedText.Read(name, ChannelNameBytes);
        }
    }

    public readonly void Encode(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"a request takes {Size} bytes, the buffer has {destination.Length}", nameof(destination));
        }
        MemoryMarshal.Write(destination, in this);
    }

    /// <summary>False when <paramref name="source"/> is not exactly <see cref="Size"/> bytes (magic and version are the caller's to check).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, out ShmRequest request)
    {
        if (source.Length != Size)
        {
            request = default;
            return false;
        }
        request = MemoryMarshal.Read<ShmRequest>(source);
        return true;
    }
}
