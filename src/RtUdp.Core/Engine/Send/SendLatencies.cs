using RtUdp.Core.Agents;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Stats;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// A sent packet's latencies into the channel's histograms: its send error, from the best stamp it got,
/// and each stage where both ends are known. The packets of a batch (a GSO train's most of all) mostly give each
/// histogram the same value, one after the other: a run of equal samples is held and recorded in one write, and
/// the counters are tallied, until <see cref="Flush"/> (each duty cycle, and before the outcome counters are
/// published, so a reader that sees a packet counted sent sees its latencies too). Nothing is left out.
/// </summary>
public sealed class SendLatencies
{
    private readonly ChannelRegion _region;
    private Run _sendError;
    private Run _stageWake;
    private Run _stageSendCall;
    private Run _stageSched;
    private Run _stageSoftware;
    private Run _stageHardware;
    private long _fromHardware;
    private long _fromSoftware;
    private long _fromWorker;
    private long _missing;

    public SendLatencies(ChannelRegion region)
    {
        _region = region;
        _sendError = new Run(region.SendErrorHistogram);
        _stageWake = new Run(region.Histogram(ChannelHistogram.StageWake));
        _stageSendCall = new Run(region.Histogram(ChannelHistogram.StageSendCall));
        _stageSched = new Run(region.Histogram(ChannelHistogram.StageSched));
        _stageSoftware = new Run(region.Histogram(ChannelHistogram.StageSoftware));
        _stageHardware = new Run(region.Histogram(ChannelHistogram.StageHardware));
    }

    /// <summary>Compiles the nested run's methods ahead, as <c>JitWarmUp</c> does the rest of the worker.</summary>
    public static void WarmUp() => JitWarmUp.Prepare(typeof(Run));

    /// <summary>Records a sent packet; returns where its send-error sample came from.</summary>
    /// <param name="missing">The stamp it awaited never came.</param>
    public StampSource Record(in StampedPacket packet, bool missing)
    {
        long best;
        StampSource source;
        if (packet.HardwareNs != 0)
        {
            (best, source) = (packet.HardwareNs, StampSource.Hardware);
            _fromHardware++;
        }
        else if (packet.SoftwareNs != 0)
        {
            (best, source) = (packet.SoftwareNs, StampSource.Software);
            _fromSoftware++;
        }
        else
        {
            (best, source) = (packet.SentNs, StampSource.Worker);
            _fromWorker++;
        }
        _sendError.Record(best - packet.DueNs);
        RecordStages(packet);
        if (missing)
        {
            _missing++;
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

    /// <summary>Writes the samples and counts held since the last call into the channel's histograms and counters.</summary>
    public void Flush()
    {
        _sendError.Flush();
        _stageWake.Flush();
        _stageSendCall.Flush();
        _stageSched.Flush();
        _stageSoftware.Flush();
        _stageHardware.Flush();
        FlushCount(ChannelCounter.SendErrorFromHardware, ref _fromHardware);
        FlushCount(ChannelCounter.SendErrorFromSoftware, ref _fromSoftware);
        FlushCount(ChannelCounter.SendErrorFromWorker, ref _fromWorker);
        FlushCount(ChannelCounter.TxStampsMissing, ref _missing);
    }

    private void FlushCount(ChannelCounter counter, ref long tally)
    {
        if (tally != 0)
        {
            _region.Add(counter, tally);
            tally = 0;
        }
    }

    /// <summary>One histogram and the run of equal samples it has not been given yet.</summary>
    private struct Run(LatencyHistogram histogram)
    {
        private readonly LatencyHistogram _histogram = histogram;
        private long _value;
        private long _count;

        public void Record(long value)
        {
            if (value == _value && _count != 0)
            {
                _count++;
                return;
            }
            Flush();
            _value = value;
            _count = 1;
        }

        public void Flush()
        {
            if (_count != 0)
            {
                _histogram.Record(_value, _count);
                _count = 0;
            }
        }
    }
}
