using System.Buffers.Binary;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Timestamping;

/// <summary>Builds control-message bytes the way the kernel lays them out on 64-bit Linux.</summary>
internal sealed class ControlBuilder
{
    private readonly List<byte> _bytes = [];

    public ControlBuilder Cmsg(int level, int type, ReadOnlySpan<byte> data, ulong? lengthOverride = null)
    {
        Span<byte> header = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(header, lengthOverride ?? (ulong)(16 + data.Length));
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], level);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], type);
        _bytes.AddRange(header.ToArray());
        _bytes.AddRange(data.ToArray());
        while (_bytes.Count % 8 != 0)
        {
            _bytes.Add(0);
        }

        return this;
    }

    public ControlBuilder ExtendedErr(int level, int type, uint errno, byte origin, byte eeType, byte code, uint info, uint data, int offenderBytes = 16)
    {
        byte[] ee = new byte[16 + offenderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(ee, errno);
        ee[4] = origin;
        ee[5] = eeType;
        ee[6] = code;
        BinaryPrimitives.WriteUInt32LittleEndian(ee.AsSpan(8), info);
        BinaryPrimitives.WriteUInt32LittleEndian(ee.AsSpan(12), data);
        if (offenderBytes >= 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(ee.AsSpan(16), (ushort)LibC.AF_INET);
        }

        return Cmsg(level, type, ee);
    }

    public ControlBuilder IpRecvErr(uint errno, byte origin, byte eeType, byte code, uint info, uint data) =>
        ExtendedErr(LibC.SOL_IP, LibC.IP_RECVERR, errno, origin, eeType, code, info, data);

    /// <param name="type">SCM_TIMESTAMPING_NEW, or null for SCM_TIMESTAMPING (37).</param>
    public ControlBuilder Timestamping(long software, long hardware, int? type = null)
    {
        byte[] ts = new byte[48];
        WriteTimespec(ts.AsSpan(0), software);
        WriteTimespec(ts.AsSpan(32), hardware);
        return Cmsg(LibC.SOL_SOCKET, type ?? LibC.SO_TIMESTAMPING, ts);
    }

    public byte[] ToArray() => [.. _bytes];

    private static void WriteTimespec(Span<byte> into, long ns)
    {
        BinaryPrimitives.WriteInt64LittleEndian(into, ns / 1_000_000_000);
        BinaryPrimitives.WriteInt64LittleEndian(into[8..], ns % 1_000_000_000);
    }
}
