using System.Buffers.Binary;
using System.Net;
using System.Text;
using RtUdp.Wire;

namespace RtUdp.Core.Capture;

/// <summary>
/// Writes a pcapng file (one section, one interface of link type RAW: IPv4 or IPv6 per packet) with
/// nanosecond timestamps (if_tsresol = 9), in the host's byte order as the format allows (the
/// section header's byte-order magic tells readers). Not thread-safe: one writer thread owns it.
/// </summary>
public sealed class PcapNgWriter : IDisposable
{
    /// <summary>LINKTYPE_RAW: the packet begins with an IPv4 or IPv6 header.</summary>
    public const ushort LinkTypeRaw = 101;

    private const uint SectionHeaderBlock = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlock = 1;
    private const uint EnhancedPacketBlock = 6;
    private const ushort OptionEnd = 0;
    private const ushort ShbUserApplication = 4;
    private const ushort IfName = 2;
    private const ushort IfTsResol = 9;

    private readonly Stream _stream;
    private readonly byte[] _block = new byte[32 + UdpFrame.MaxFrame + 8];

    /// <param name="interfaceName">Written as if_name (e.g. the channel's name).</param>
    public PcapNgWriter(Stream stream, string interfaceName, string application)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        WriteSectionHeader(application);
        WriteInterface(interfaceName);
    }

    /// <summary>Bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    public long PacketsWritten { get; private set; }

    /// <summary>One UDP datagram as source → destination, stamped <paramref name="unixNs"/> (ns since 1970, UTC).</summary>
    public void WriteUdp(long unixNs, IPEndPoint source, IPEndPoint destination, ReadOnlySpan<byte> payload)
    {
        // Enhanced Packet Block: type, length, interface, timestamp high/low, captured, original, data (padded to 4), length.
        Span<byte> block = _block;
        int frame = UdpFrame.Build(block[28..], source, destination, payload);
        int padded = Align4(frame);
        block[(28 + frame)..(28 + padded)].Clear();
        int total = 28 + padded + 4;
        var timestamp = (ulong)unixNs;
        BinaryPrimitives.WriteUInt32LittleEndian(block, EnhancedPacketBlock);
        BinaryPrimitives.WriteInt32LittleEndian(block[4..], total);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], (uint)(timestamp >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(block[16..], (uint)timestamp);
        BinaryPrimitives.WriteInt32LittleEndian(block[20..], frame);
        BinaryPrimitives.WriteInt32LittleEndian(block[24..], frame);
        BinaryPrimitives.WriteInt32LittleEndian(block[(28 + padded)..], total);
        Write(block[..total]);
        PacketsWritten++;
    }

    public void Flush() => _stream.Flush();

    private void WriteSectionHeader(string application)
    {
        byte[] app = Encoding.UTF8.GetBytes(application);
        int options = 4 + Align4(app.Length) + 4;
        int total = 28 + options;
        var block = new byte[total];
        BinaryPrimitives.WriteUInt32LittleEndian(block, SectionHeaderBlock);
        BinaryPrimitives.WriteInt32LittleEndian(block.AsSpan(4), total);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(8), 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(12), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(14), 0);
        BinaryPrimitives.WriteInt64LittleEndian(block.AsSpan(16), -1); // section length unknown
        int at = WriteOption(block, 24, ShbUserApplication, app);
        at = WriteOption(block, at, OptionEnd, []);
        BinaryPrimitives.WriteInt32LittleEndian(block.AsSpan(at), total);
        Write(block);
    }

    private void WriteInterface(string name)
    {
        byte[] ifName = Encoding.UTF8.GetBytes(name);
        int options = 4 + Align4(ifName.Length) + 4 + 4 + 4;
        int total = 16 + options + 4;
        var block = new byte[total];
        BinaryPrimitives.WriteUInt32LittleEndian(block, InterfaceDescriptionBlock);
        BinaryPrimitives.WriteInt32LittleEndian(block.AsSpan(4), total);
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(8), LinkTypeRaw);
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(10), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(12), 0); // snaplen: no limit
        int at = WriteOption(block, 16, IfName, ifName);
        at = WriteOption(block, at, IfTsResol, [9]); // 10^-9 s: nanoseconds
        at = WriteOption(block, at, OptionEnd, []);
        BinaryPrimitives.WriteInt32LittleEndian(block.AsSpan(at), total);
        Write(block);
    }

    private static int WriteOption(byte[] block, int at, ushort code, ReadOnlySpan<byte> value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(at), code);
        BinaryPrimitives.WriteUInt16LittleEndian(block.AsSpan(at + 2), (ushort)value.Length);
        value.CopyTo(block.AsSpan(at + 4));
        return at + 4 + Align4(value.Length);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        BytesWritten += bytes.Length;
    }

    private static int Align4(int n) => (n + 3) & ~3;

    public void Dispose() => _stream.Dispose();
}
