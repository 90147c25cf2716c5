using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;
using RtUdp.V1;
using CoreStampSource = RtUdp.Core.Timestamping.StampSource;

namespace RtUdp.Daemon.Outcomes;

/// <summary>The engine's <see cref="TxReport"/> as the API's <see cref="PacketOutcome"/>.</summary>
internal static class OutcomeMapping
{
    public static OutcomeRecord ToProto(in OutcomeItem item) => item.IsGap
        ? new OutcomeRecord { Gap = new OutcomeGap { Missed = item.Missed, Reason = item.GapReason ?? "" } }
        : new OutcomeRecord { Outcome = ToProto(item.Report) };

    public static PacketOutcome ToProto(in TxReport r)
    {
        var source = (CoreStampSource)r.StampSource;
        long best = source switch
        {
            CoreStampSource.Hardware => r.HardwareNs,
            CoreStampSource.Software => r.SoftwareNs,
            CoreStampSource.Worker => r.SentNs,
            _ => 0,
        };
        return new PacketOutcome
        {
            PacketId = r.PacketId,
            Fate = (TxOutcome)r.Outcome switch
            {
                TxOutcome.Sent => PacketFate.Sent,
                TxOutcome.SentLate => PacketFate.SentLate,
                TxOutcome.DroppedLate => PacketFate.DroppedLate,
                TxOutcome.DroppedError => PacketFate.DroppedError,
                TxOutcome.DroppedStopped => PacketFate.DroppedStopped,
                _ => PacketFate.Unspecified,
            },
            DueMonotonicNs = r.DueNs,
            ArrivedMonotonicNs = r.IngestNs,
            ArrivedLate = (r.Flags & TxReportFlags.ArrivedLate) != 0,
            SentMonotonicNs = r.SentNs,
            SoftwareStampMonotonicNs = r.SoftwareNs,
            SchedStampMonotonicNs = r.SchedNs,
            HardwareStampMonotonicNs = r.HardwareNs,
            HardwareStampRawNs = r.HardwareRawNs,
            LaunchTimeNs = r.LaunchTimeNs,
            SendErrorNs = best != 0 ? best - r.DueNs : 0,
            StampSource = StampMapping.ToProto(source),
            ClockDomain = StampMapping.DomainOf(source),
            Errno = r.Errno,
            Error = r.Errno != 0 ? Errno.Name(r.Errno) : "",
        };
    }
}
