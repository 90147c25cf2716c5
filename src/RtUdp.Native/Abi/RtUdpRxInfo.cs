using System.Runtime.InteropServices;

namespace RtUdp.Native.Abi;

/// <summary><c>rtudp_rx_info</c>: what <c>rtudp_receive</c> reports about a packet (72 bytes; checked against rtudp.h).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct RtUdpRxInfo
{
    public uint Length;
    public int StampSource;
    public long KernelRealtimeNs;
    public long HardwareRawNs;
    public long BestMonotonicNs;
    public long WorkerMonotonicNs;
    public fixed byte SourceAddr[16];
    public ushort SourcePort;
    public ushort SourceFamily;
    public uint Flags;
    public long Sequence;
}
