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
        : item.Report.IsNetworkError
            ? new OutcomeRecord { NetworkError = ToProto(item.Report.NetworkError) }
            : new OutcomeRecord { Outcome = ToProto(item.Report.Packet) };

    public static V1.NetworkError ToProto(in TxNetworkErrorReport e) => new()
    {
        PacketId = e.PacketId,
        Kind = (Core.Contract.Channels.NetworkErrorKind)e.Kind switch
        {
            Core.Contract.Channels.NetworkErrorKind.Refused => V1.NetworkErrorKind.Refused,
            Core.Contract.Channels.NetworkErrorKind.HostUnreachable => V1.NetworkErrorKind.HostUnreachable,
            Core.Contract.Channels.NetworkErrorKind.NetUnreachable => V1.NetworkErrorKind.NetUnreachable,
            Core.Contract.Channels.NetworkErrorKind.HostDown => V1.NetworkErrorKind.HostDown,
            Core.Contract.Channels.NetworkErrorKind.TooBig => V1.NetworkErrorKind.TooBig,
            _ => V1.NetworkErrorKind.Other,
        },
        Attribution = (Core.Contract.Channels.NetworkErrorAttribution)e.Attribution switch
        {
            Core.Contract.Channels.NetworkErrorAttribution.Exact => V1.NetworkErrorAttribution.Exact,
            Core.Contract.Channels.NetworkErrorAttribution.ByOrder => V1.NetworkErrorAttribution.ByOrder,
            _ => V1.NetworkErrorAttribution.None,
        },
        Errno = e.Errno,
        Error = e.Errno != 0 ? Errno.Name(e.Errno) : "",
        Icmp6 = e.Origin == Tmds.Linux.LibC.SO_EE_ORIGIN_ICMP6,
        IcmpType = e.IcmpType,
        IcmpCode = e.IcmpCode,
        Offender = e.Offender.ToIPEndPoint()?.ToString() ?? "",
        DueMonotonicNs = e.DueNs,
        SentMonotonicNs = e.SentNs,
        ReportedMonotonicNs = e.ReportedNs,
        Mtu = e.Mtu,
    };

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
            PathMtu = r.PathMtu,
        };
    }
}
