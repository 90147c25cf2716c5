using System.Runtime.InteropServices;

namespace RtUdp.Native.Abi;

/// <summary><c>rtudp_packet</c>: one packet of <c>rtudp_send_batch</c> (32 bytes; checked against rtudp.h by the tests).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct RtUdpPacket
{
    public void* Data;
    public uint Length;
    public uint Flags;
    public long TimeNs;
    public long PacketId;
}
