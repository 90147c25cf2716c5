using System.Net;

namespace RtUdp.Core.EngineLink;

/// <summary>A packet drained from a channel's RX ring (the payload is copied into the caller's buffer).</summary>
/// <param name="KernelRealtimeNs">Software RX stamp as the kernel gave it (CLOCK_REALTIME); 0 if none.</param>
/// <param name="HardwareRawNs">Hardware RX stamp in the NIC's clock (PHC); 0 if none.</param>
/// <param name="BestMonotonicNs">The best stamp, converted to CLOCK_MONOTONIC.</param>
/// <param name="StampSource">Which clock <paramref name="BestMonotonicNs"/> came from (Timestamping.StampSource).</param>
/// <param name="Flags">Contract.Channels.RxPacketFlags: Coalesced when the stamps are those of the coalesced (GRO) datagram it came in.</param>
public readonly record struct ReceivedPacket(
    int Length,
    IPEndPoint? Source,
    long KernelRealtimeNs,
    long HardwareRawNs,
    long BestMonotonicNs,
    int StampSource,
    long WorkerMonotonicNs,
    long Sequence,
    int Flags = 0)
{
    /// <summary>Split out of a coalesced datagram (UDP GRO): its stamps are that datagram's.</summary>
    public bool Coalesced => (Flags & Contract.Channels.RxPacketFlags.Coalesced) != 0;
}
