using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Stats;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// A sent packet's latencies into the channel's histograms: its send error, from the best stamp it got,
/// and each stage where both ends are known.
/// </summary>
public sealed class SendLatencies
{
    private readonly ChannelRegion _region;
    private readonly LatencyHistogram _sendError;
    private readonly LatencyHistogram _stageWake;
    private readonly LatencyHistogram _stageSendCall;
    private readonly LatencyHistogram _stageSched;
    private readonly LatencyHistogram _stageSoftware;
    private readonly LatencyHistogram _stageHardware;

    public SendLatencies(ChannelRegion region)
    {
        _region = region;
        _sendError = region.SendErrorHistogram;
        _stageWake = region.Histogram(ChannelHistogram.StageWake);
        _stageSendCall = region.Histogram(ChannelHistogram.StageSendCall);
        _stageSched = region.Histogram(ChannelHistogram.StageSched);
        _stageSoftware = region.Histogram(ChannelHistogram.StageSoftware);
        _stageHardware = region.Histogram(ChannelHistogram.StageHardware);
    }

    /// <summary>Records a sent packet; returns where its send-error sample came from.</summary>
    /// <param name="missing">The stamp it awaited never came.</param>
    public StampSource Record(in StampedPacket packet, bool missing)
    {
        long best;
        StampSource source;
        ChannelCounter from;
        if (packet.HardwareNs != 0)
        {
            (best, source, from) = (packet.HardwareNs, StampSource.Hardware, ChannelCounter.SendErrorFromHardware);
        }
        else if (packet.SoftwareNs != 0)
        {
            (best, source, from) = (packet.SoftwareNs, StampSource.Software, ChannelCounter.SendErrorFromSoftware);
        }
        else
        {
            (best, source, from) = (packet.SentNs, StampSource.Worker, ChannelCounter.SendErrorFromWorker);
        }
        _sendError.Record(best - packet.DueNs);
        _region.Add(from, 1);
        RecordStages(packet);
        if (missing)
        {
            _region.Add(ChannelCounter.TxStampsMissing, 1);
        }
        return source;
    }

    /// <summary>scheduled → wake-up → sendmmsg → SCHED → SND → hardware, each stage where both ends are known.</summary>
    private void RecordStages(in StampedPacket packet)
    {
        _stageWake.Record(packet.WakeNs - packet.DueNs);
        _stageSendCall.Record(packet.SentNs - packet.WakeNs);
        long previous = packet.SentNs;
        if (packet.SchedNs != 0)
        {
            _stageSched.Record(packet.SchedNs - previous);
            previous = packet.SchedNs;
        }
        if (packet.SoftwareNs != 0)
        {
            _stageSoftware.Record(packet.SoftwareNs - previous);
            if (packet.HardwareNs != 0)
            {
                _stageHardware.Record(packet.HardwareNs - packet.SoftwareNs);
            }
        }
    }
}
