using RtUdp.Core.Native;

namespace RtUdp.Core.Capabilities;

/// <summary>The kernel's clock discipline as adjtimex(2) reports it, read without changing anything.</summary>
/// <param name="TaiOffsetSeconds">TAI - UTC in seconds (37 since 2017 when set; 0 when nobody set it).</param>
/// <param name="ClockState">adjtimex's return value: "TIME_OK", "TIME_INS", ..., "TIME_ERROR".</param>
/// <param name="Synchronized">False while STA_UNSYNC is set, i.e. no NTP/PTP daemon has disciplined the clock.</param>
public sealed record ClockDiscipline(int TaiOffsetSeconds, string ClockState, bool Synchronized);

/// <summary>
/// The TAI offset CLOCK_TAI is derived from (CLOCK_TAI = CLOCK_REALTIME + offset). ETF launch times
/// are CLOCK_TAI, so an unset offset (0) puts them 37 s in the past.
/// </summary>
public static unsafe class TaiOffset
{
    /// <summary>TAI - UTC in seconds, via <c>adjtimex</c> with <c>modes = 0</c> (read-only, no privilege).</summary>
    /// <exception cref="NativeCallException">adjtimex failed.</exception>
    public static int Read() => Query().TaiOffsetSeconds;

    /// <summary>The TAI offset plus the clock state and synchronisation flag from the same adjtimex call.</summary>
    /// <exception cref="NativeCallException">adjtimex failed.</exception>
    public static ClockDiscipline Query()
    {
        Libc.timex tx = default;
        tx.modes = 0;
        int state = Errno.Check(Libc.adjtimex(&tx), "adjtimex");
        return new ClockDiscipline(tx.tai, StateName(state), (tx.status & Libc.STA_UNSYNC) == 0);
    }

    internal static string StateName(int state) => state switch
    {
        Libc.TIME_OK => nameof(Libc.TIME_OK),
        Libc.TIME_INS => nameof(Libc.TIME_INS),
        Libc.TIME_DEL => nameof(Libc.TIME_DEL),
        Libc.TIME_OOP => nameof(Libc.TIME_OOP),
        Libc.TIME_WAIT => nameof(Libc.TIME_WAIT),
        Libc.TIME_ERROR => nameof(Libc.TIME_ERROR),
        _ => "state " + state.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
