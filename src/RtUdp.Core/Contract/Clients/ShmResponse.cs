using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Memory;

namespace RtUdp.Core.Contract.Clients;

/// <summary>
/// The broker's answer (docs/shm-clients.md, "Broker protocol"): 320 bytes, little-endian; a successful attach
/// carries the region's memfd in SCM_RIGHTS. struct.unpack layout: "&lt;IiIIQ32s256sQ".
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
public unsafe struct ShmResponse
{
    public const int Size = 320;
    public const int FieldBytes = 32;
    public const int MessageBytes = 256;

    [FieldOffset(0)] public uint Magic;

    /// <summary>A <see cref="ShmStatus"/>: 0 ok, negative <c>RTUDP_E_*</c>.</summary>
    [FieldOffset(4)] public int Status;
    [FieldOffset(8)] public uint ChannelId;
    [FieldOffset(12)] public uint ClientId;
    [FieldOffset(16)] public ulong RegionLength;

    /// <summary>The request field at fault (UTF-8, NUL-terminated), if any: "channel", "flags", "magic", ...</summary>
    [FieldOffset(24)] public fixed byte Field[FieldBytes];

    /// <summary>What happened, for a person (UTF-8, NUL-terminated).</summary>
    [FieldOffset(56)] public fixed byte Message[MessageBytes];

    /// <summary>0; pads the struct to 320 bytes.</summary>
    [FieldOffset(312)] public ulong Reserved;

    public static ShmResponse Failure(ShmStatus status, string? field, string message)
    {
        var response = new ShmResponse { Magic = ShmAbi.ResponseMagic, Status = (int)status };
        response.SetText(field, message);
        return response;
    }

    public static ShmResponse Success(uint channelId, uint clientId, ulong regionLength, string? message = null)
    {
        var response = new ShmResponse
        {
            Magic = ShmAbi.ResponseMagic,
            Status = (int)ShmStatus.Ok,
            ChannelId = channelId,
            ClientId = clientId,
            RegionLength = regionLength,
        };
        response.SetText(null, message);
        return response;
    }

    public readonly ShmStatus StatusCode => (ShmStatus)Status;

    public void SetText(string? field, string? message)
    {
        fixed (byte* f = Field)
        {
            FixedText.Write(field, f, FieldBytes);
        }
        fixed (byte* m = Message)
        {
            FixedText.Write(message, m, MessageBytes);
        }
    }

    /// <summary>The field at fault; null when none.</summary>
    public readonly string? GetField()
    {
        fixed (byte* f = Field)
        {
            string value = FixedText.Read(f, FieldBytes);
            return value.Length == 0 ? null : value;
        }
    }

    public readonly string GetMessage()
    {
        fixed (byte* m = Message)
        {
            return FixedText.Read(m, MessageBytes);
        }
    }

    public readonly void Encode(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException($"a response takes {Size} bytes, the buffer has {destination.Length}", nameof(destination));
        }
        MemoryMarshal.Write(destination, in this);
    }

    /// <summary>False when <paramref name="source"/> is not exactly <see cref="Size"/> bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> source, out ShmResponse response)
    {
        if (source.Length != Size)
        {
            response = default;
            return false;
        }
        response = MemoryMarshal.Read<ShmResponse>(source);
        return true;
    }
}
