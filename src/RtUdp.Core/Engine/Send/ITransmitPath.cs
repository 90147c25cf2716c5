namespace RtUdp.Core.Engine.Send;

/// <summary>
/// How the packets the <see cref="SendScheduler"/> found due leave the host. The send worker fills a
/// batch with <see cref="Add"/> and sends it with <see cref="Transmit"/>; the path tells the
/// <see cref="SendCompletion"/> it was made with what became of each packet. A second way out (UDP GSO,
/// AF_XDP) is a second implementation; <see cref="SocketTransmitPath"/> is sendmmsg on the channel's socket.
/// Implementations allocate nothing, take no lock and log nothing after construction.
/// </summary>
public unsafe interface ITransmitPath : IDisposable
{
    /// <summary>Most packets one <see cref="Transmit"/> takes.</summary>
    int BatchCapacity { get; }

    /// <summary>On the worker's thread, before the first packet: what the path needs set up there.</summary>
    void OnStart();

    /// <summary>Runs the send call once with nothing to send, so the first packet does not wait for the JIT.</summary>
    void WarmUp();

    /// <summary>A batch begins (per-batch clock readings).</summary>
    void BeginBatch();

    /// <summary>The packet joins the batch; its payload stays where it is until <see cref="Transmit"/>.</summary>
    void Add(in ScheduledPacket packet, byte* payload, int length);

    /// <summary>Sends the batch: every packet added ends up sent or dropped, told to the completion. The batch is then empty.</summary>
    void Transmit();

    /// <summary>Publishes the path's own counters, once per batch.</summary>
    void PublishCounters();
}
