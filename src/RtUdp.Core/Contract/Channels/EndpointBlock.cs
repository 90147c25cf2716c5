using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// An IPv4 or IPv6 endpoint in a fixed 24-byte form that can live in shared memory and in records.
/// Address bytes are in network order; IPv4 uses the first four.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct EndpointBlock
{
    public const ushort FamilyNone = 0;
    public const ushort FamilyInet = 2;
    public const ushort FamilyInet6 = 10;

    public ushort Family;
    public ushort Port;
    public uint ScopeId;
    public fixed byte Address[16];

    public readonly bool IsSpecified => Family != FamilyNone;

    /// <summary>Same family and address (ports and scope aside).</summary>
    public readonly bool SameAddress(in EndpointBlock other)
    {
        if (Family != other.Family)
        {
            return false;
        }
        int length = Family == FamilyInet ? 4 : 16;
        fixed (byte* mine = Address)
        fixed (byte* theirs = other.Address)
        {
            return new ReadOnlySpan<byte>(mine, length).SequenceEqual(new ReadOnlySpan<byte>(theirs, length));
        }
    }

    public static EndpointBlock From(IPEndPoint? endPoint)
    {
        EndpointBlock block = default;
        if (endPoint is null)
        {
            return block;
        }
        block.Port = (ushort)endPoint.Port;
        IPAddress address = endPoint.Address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            block.Family = FamilyInet;
        }
        else
        {
            block.Family = FamilyInet6;
            block.ScopeId = (uint)address.ScopeId;
        }
        for (int i = 0; i < written; i++)
        {
            block.Address[i] = bytes[i];
        }
        return block;
    }

    public readonly IPEndPoint? ToIPEndPoint()
    {
        if (Family == FamilyNone)
        {
            return null;
        }
        byte[] bytes = new byte[Family == FamilyInet ? 4 : 16];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = Address[i];
        }
        IPAddress address = Family == FamilyInet ? new IPAddress(bytes) : new IPAddress(bytes, ScopeId);
        return new IPEndPoint(address, Port);
    }

    public override readonly string ToString() => ToIPEndPoint()?.ToString() ?? "(none)";
}
