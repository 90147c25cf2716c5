using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Writes a packet's <see cref="TxReport"/> into the channel's report ring, but only while someone has
/// asked for reports (<see cref="ChannelRegion.ReportsRequested"/>, set by the daemon side): nobody else
/// reads them, and a report per packet nobody drains is work and a full ring for nothing.
/// </summary>
public sealed unsafe class TxReportWriter
{
    private readonly ChannelRegion _region;
    private readonly RecordRing _reports;
    private bool _requested;
    private long _lost;

    public TxReportWriter(ChannelRegion region)
    {
        _region = region;
        _reports = region.TxReports;
    }

    /// <summary>Whether reports are being written (as of the last <see cref="ReadRequest"/>).</summary>
    public bool Requested => _requested;

    /// <summary>
    /// Reads the request flag: once per duty cycle, not per packet. Read after the cycle took new records
    /// from the TX ring, so a request made before a packet was enqueued is seen before that packet finishes.
    /// </summary>
    public void ReadRequest() => _requested = _region.ReportsRequested;

    /// <summary>Writes the packet's report; a full ring loses it, counted.</summary>
    public void Write(in StampedPacket packet, int errorNumber, StampSource source, int pathMtu = 0)
    {
        int report = _reports.TryClaimSingleProducer(PacketRecordType.Packet, sizeof(TxReport));
        if (report < 0)
        {
            _lost++;
            return;
        }
        *(TxReport*)_reports.Body(report) = new TxReport
        {
            PacketId = packet.PacketId,
            DueNs = packet.DueNs,
            SentNs = packet.SentNs,
            WakeNs = packet.SentNs != 0 ? packet.WakeNs : 0,
            SchedNs = packet.SchedNs,
            SoftwareNs = packet.SoftwareNs,
            HardwareNs = packet.HardwareNs,
            HardwareRawNs = packet.HardwareRawNs,
            Outcome = packet.Outcome,
            Errno = errorNumber,
            StampSource = (int)source,
            LaunchTimeNs = packet.LaunchTimeNs,
            ClientTag = packet.ClientTag,
            IngestNs = packet.IngestNs,
            Flags = packet.Flags,
            PathMtu = pathMtu,
        };
        _reports.Commit(report);
    }

    /// <summary>Writes a network error's report; a full ring loses it, counted.</summary>
    public void WriteNetworkError(in TxNetworkErrorReport error)
    {
        int report = _reports.TryClaimSingleProducer(PacketRecordType.NetworkError, sizeof(TxNetworkErrorReport));
        if (report < 0)
        {
            _lost++;
            return;
        }
        *(TxNetworkErrorReport*)_reports.Body(report) = error;
        _reports.Commit(report);
    }

    /// <summary>Publishes the reports lost to a full ring since the last call.</summary>
    public void PublishCounters()
    {
        if (_lost != 0)
        {
            _region.Add(ChannelCounter.TxReportsLost, _lost);
            _lost = 0;
        }
    }
}
