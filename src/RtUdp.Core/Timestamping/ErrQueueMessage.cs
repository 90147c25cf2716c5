using RtUdp.Core.Native;

namespace RtUdp.Core.Timestamping;

/// <summary>What a message on a socket's error queue reports, from <c>sock_extended_err.ee_origin</c>.</summary>
public enum ErrQueueKind : byte
{
    /// <summary>An origin this parser does not interpret (e.g. SO_EE_ORIGIN_ZEROCOPY); the raw fields are still set.</summary>
    Unknown = 0,

    /// <summary>SO_EE_ORIGIN_TIMESTAMPING (4): a TX timestamp; ee_errno is ENOMSG.</summary>
    TxTimestamp = 1,

    /// <summary>SO_EE_ORIGIN_TXTIME (6): a launch time was invalid (EINVAL, code 1) or missed (ECANCELED, code 2).</summary>
    TxTimeError = 2,

    /// <summary>SO_EE_ORIGIN_ICMP (2): an ICMP error, e.g. ECONNREFUSED for port unreachable.</summary>
    Icmp = 3,

    /// <summary>SO_EE_ORIGIN_ICMP6 (3).</summary>
    Icmp6 = 4,

    /// <summary>SO_EE_ORIGIN_LOCAL (1): a locally generated error, e.g. EMSGSIZE.</summary>
    Local = 5,
}

/// <summary>
/// One error-queue message: the <c>sock_extended_err</c> and, when present, the SCM_TIMESTAMPING
/// stamps that came with it. A plain value: parsing fills it in place and nothing is allocated.
/// </summary>
public struct ErrQueueMessage
{
    public ErrQueueKind Kind { readonly get; internal set; }

    /// <summary><c>ee_errno</c>: ENOMSG for TX timestamps, EINVAL/ECANCELED for TXTIME errors, e.g. ECONNREFUSED for ICMP.</summary>
    public int Errno { readonly get; internal set; }

    /// <summary><c>ee_origin</c>, SO_EE_ORIGIN_*.</summary>
    public byte Origin { readonly get; internal set; }

    /// <summary><c>ee_type</c>: the ICMP type for ICMP origins.</summary>
    public byte Type { readonly get; internal set; }

    /// <summary><c>ee_code</c>: the ICMP code, or SO_EE_CODE_TXTIME_* for TXTIME errors.</summary>
    public byte Code { readonly get; internal set; }

    /// <summary><c>ee_info</c>: SCM_TSTAMP_* for TX timestamps; low 32 bits of the launch time for TXTIME errors.</summary>
    public uint Info { readonly get; internal set; }

    /// <summary><c>ee_data</c>: the OPT_ID counter for TX timestamps; high 32 bits of the launch time for TXTIME errors.</summary>
    public uint Data { readonly get; internal set; }

    /// <summary>SCM_TIMESTAMPING ts[0] in nanoseconds (CLOCK_REALTIME), or 0 when absent.</summary>
    public long SoftwareNs { readonly get; internal set; }

    /// <summary>SCM_TIMESTAMPING ts[2] in nanoseconds (the NIC's PHC, raw), or 0 when absent.</summary>
    public long HardwareNs { readonly get; internal set; }

    /// <summary>
    /// For ICMP origins: who sent the error (SO_EE_OFFENDER: the peer, a router on the way, or this host);
    /// unspecified when absent.
    /// </summary>
    public Contract.Channels.EndpointBlock Offender { readonly get; internal set; }

    /// <summary>Bytes of the offending datagram's payload the reader kept (ICMP errors quote its head); 0 for stamps.</summary>
    public int QuotedLength { readonly get; internal set; }

    /// <summary>Where the reader keeps the quoted bytes (see <see cref="ErrorQueueReader.Quote"/>).</summary>
    internal int QuoteSlot { readonly get; set; }

    /// <summary>The kernel set MSG_CTRUNC: control messages did not fit (only set by the msghdr overload).</summary>
    public bool ControlTruncated { readonly get; internal set; }

    /// <summary>SCM_TSTAMP_SND (0), SCM_TSTAMP_SCHED (1) or SCM_TSTAMP_ACK (2) for <see cref="ErrQueueKind.TxTimestamp"/>.</summary>
    public readonly int StampType => (int)Info;

    /// <summary>The SOF_TIMESTAMPING_OPT_ID counter of the datagram the TX timestamp belongs to.</summary>
    public readonly uint StampId => Data;

    /// <summary>The rejected SCM_TXTIME value for <see cref="ErrQueueKind.TxTimeError"/>: <c>((u64)ee_data &lt;&lt; 32) | ee_info</c>.</summary>
    public readonly ulong RequestedTxTimeNs => ((ulong)Data << 32) | Info;

    /// <summary>A TXTIME error whose launch time had already passed when the packet was dequeued.</summary>
    public readonly bool IsTxTimeMissed => Kind == ErrQueueKind.TxTimeError && Code == Libc.SO_EE_CODE_TXTIME_MISSED;

    /// <summary>A TXTIME error for an invalid launch time (e.g. decreasing times on an ETF queue).</summary>
    public readonly bool IsTxTimeInvalid => Kind == ErrQueueKind.TxTimeError && Code == Libc.SO_EE_CODE_TXTIME_INVALID_PARAM;

    /// <summary>
    /// What the error queue would have said for a hardware TX stamp of datagram <paramref name="key"/>: an AF_XDP device's
    /// TX metadata completion stamp, for the same tracker (a zero stamp is none: the device wrote nothing).
    /// </summary>
    public static ErrQueueMessage DeviceTxStamp(uint key, long hardwareRawNs) => new()
    {
        Kind = ErrQueueKind.TxTimestamp,
        Errno = Native.Errno.ENOMSG,
        Info = Libc.SCM_TSTAMP_SND,
        Data = key,
        HardwareNs = hardwareRawNs,
    };

    /// <summary>The most precise stamp this message carries.</summary>
    public readonly StampSource BestSource =>
        HardwareNs != 0 ? StampSource.Hardware : SoftwareNs != 0 ? StampSource.Software : StampSource.None;
}
