using RtUdp.Core.Capture;

namespace RtUdp.Daemon.Generators;

/// <summary>
/// A capture file's UDP payloads, packet k due at start + (t_k - t_0) with the file's own timestamps
/// (a timestamp earlier than the one before it is sent right after that one). No rate to change.
/// </summary>
internal sealed class ReplaySchedule(long startNs, IReadOnlyList<CapturedDatagram> packets) : IPacketSchedule
{
    private readonly long _startNs = startNs;
    private long _latestNs = startNs;

    public long Index { get; private set; }

    public long DueNs => Exhausted ? _latestNs : Math.Max(_latestNs, _startNs + (packets[(int)Index].TimestampNs - packets[0].TimestampNs));

    public bool Exhausted => Index >= packets.Count;

    public ReadOnlyMemory<byte>? Payload => Exhausted ? null : packets[(int)Index].Payload;

    public void Advance()
    {
        _latestNs = DueNs;
        Index++;
    }

    public bool SetRate(ScheduleRate rate) => false;
}
