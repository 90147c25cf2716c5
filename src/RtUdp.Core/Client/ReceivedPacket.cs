using System.Net;

namespace RtUdp.Core.Client;

/// <summary>A packet drained from a channel's RX ring (the payload is copied into the caller's buffer).</summary>
public readonly record struct ReceivedPacket(
    int Length,
    IPEndPoint? Source,
    long KernelRealtimeNs,
    long WorkerMonotonicNs,
    long Sequence);
