using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace RtUdp.Core.Contract.Channels;

/// <summary>
/// <see cref="ChannelConfig"/> in a fixed, pointer-free form: carried in the command ring and kept in
/// each channel file's header, so either process can read it without a serializer.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ChannelConfigBlock
{
    public const int NameBytes = 64;

    public uint Id;
    public int Direction;
    public EndpointBlock Local;
    public EndpointBlock Remote;
    public int Capacity;
    public int MaxPayload;
    public long TxRingBytes;
    public long RxRingBytes;
    public int SendCpu;
    public int ReceiveCpu;
    public int Priority;
    public int Timing;
    public long SpinMarginNs;
    public int LatePolicy;
    public int BatchSize;
    public long LateToleranceNs;
    public int SocketBufferBytes;
    public int Flags;
    public int Timestamps;
    public int LaunchTime;
    public long HardwareStampTimeoutNs;
    public long LaunchLeadNs;
    public uint FlowId;
    public int FlowClock;
    public int Gso;
    public int Gro;
    public int ReceiveStrategy;
    public int DataPath;
    public long BusyPollNs;
    public int XdpQueue;
    public int XdpZeroCopy;
    public int XdpAttach;
    public int Reserved;
    public fixed byte Name[NameBytes];

    public static ChannelConfigBlock From(ChannelConfig config)
    {
        ChannelConfigBlock block = new()
        {
            Id = config.Id,
            Direction = (int)config.Direction,
            Local = EndpointBlock.From(config.Local),
            Remote = EndpointBlock.From(config.Remote),
            Capacity = config.Capacity,
            MaxPayload = config.MaxPayload,
            TxRingBytes = config.EffectiveTxRingBytes,
            RxRingBytes = config.EffectiveRxRingBytes,
            SendCpu = config.SendCpu,
            ReceiveCpu = config.ReceiveCpu,
            Priority = config.Priority,
            Timing = (int)config.Timing,
            SpinMarginNs = config.SpinMarginNs,
            LatePolicy = (int)config.LatePolicy,
            BatchSize = config.BatchSize,
            LateToleranceNs = config.LateToleranceNs,
            SocketBufferBytes = config.SocketBufferBytes,
            Flags = (int)config.Flags,
            Timestamps = (int)config.Timestamps,
            LaunchTime = (int)config.LaunchTime,
            HardwareStampTimeoutNs = config.HardwareStampTimeoutNs,
            LaunchLeadNs = config.LaunchLeadNs,
            FlowId = config.FlowId,
            FlowClock = (int)config.FlowClock,
            Gso = (int)config.Gso,
            Gro = (int)config.Gro,
            ReceiveStrategy = (int)config.ReceiveStrategy,
            BusyPollNs = config.BusyPollNs,
            DataPath = (int)config.DataPath,
            XdpQueue = config.XdpQueue,
            XdpZeroCopy = (int)config.XdpZeroCopy,
            XdpAttach = (int)config.XdpAttach,
        };
        int length = Encoding.UTF8.GetBytes(config.Name, new Span<byte>(block.Name, NameBytes - 1));
        block.Name[length] = 0;
        return block;
    }

    public readonly ChannelConfig ToConfig()
    {
        fixed (byte* name = Name)
        {
            return new ChannelConfig
            {
                Id = Id,
                Name = Marshal.PtrToStringUTF8((nint)name) ?? "",
                Direction = (ChannelDirection)Direction,
                Local = Local.ToIPEndPoint() ?? new IPEndPoint(IPAddress.Any, 0),
                Remote = Remote.ToIPEndPoint(),
                Capacity = Capacity,
                MaxPayload = MaxPayload,
                TxRingBytes = TxRingBytes,
                RxRingBytes = RxRingBytes,
                SendCpu = SendCpu,
                ReceiveCpu = ReceiveCpu,
                Priority = Priority,
                Timing = (TimingStrategy)Timing,
                SpinMarginNs = SpinMarginNs,
                LatePolicy = (LatePolicy)LatePolicy,
                BatchSize = BatchSize,
                LateToleranceNs = LateToleranceNs,
                SocketBufferBytes = SocketBufferBytes,
                Flags = (ChannelFlags)Flags,
                Timestamps = (TimestampMode)Timestamps,
                LaunchTime = (LaunchTimeMode)LaunchTime,
                HardwareStampTimeoutNs = HardwareStampTimeoutNs,
                LaunchLeadNs = LaunchLeadNs,
                FlowId = FlowId,
                FlowClock = (FlowClock)FlowClock,
                Gso = (GsoMode)Gso,
                Gro = (GroMode)Gro,
                ReceiveStrategy = (ReceiveStrategy)ReceiveStrategy,
                BusyPollNs = BusyPollNs,
                DataPath = (DataPath)DataPath,
                XdpQueue = XdpQueue,
                XdpZeroCopy = (XdpZeroCopy)XdpZeroCopy,
                XdpAttach = (XdpAttachMode)XdpAttach,
            };
        }
    }
}
