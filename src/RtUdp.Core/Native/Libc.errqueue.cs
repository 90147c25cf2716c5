namespace RtUdp.Core.Native;

/// <summary>
/// &lt;linux/errqueue.h&gt; values Tmds.LibC lacks. The origin and code constants are bytes because
/// <c>sock_extended_err.ee_origin</c>/<c>ee_code</c> are <c>__u8</c>, so they compare without casts.
/// </summary>
public static partial class Libc
{
    public const byte SO_EE_ORIGIN_TXTIME = 6;
    public const byte SO_EE_CODE_TXTIME_INVALID_PARAM = 1;
    public const byte SO_EE_CODE_TXTIME_MISSED = 2;

    public const int SCM_TSTAMP_SND = 0;
    public const int SCM_TSTAMP_SCHED = 1;
    public const int SCM_TSTAMP_ACK = 2;
}
