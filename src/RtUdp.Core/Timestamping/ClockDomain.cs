namespace RtUdp.Core.Timestamping;

/// <summary>The time base a nanosecond value is expressed in.</summary>
public enum ClockDomain : byte
{
    /// <summary>CLOCK_MONOTONIC: the engine's internal time base (futex and clock_nanosleep deadlines).</summary>
    Monotonic = 0,

    /// <summary>CLOCK_REALTIME: kernel software timestamps.</summary>
    Realtime = 1,

    /// <summary>CLOCK_TAI: what the ETF qdisc expects in SCM_TXTIME.</summary>
    Tai = 2,

    /// <summary>A PTP hardware clock (/dev/ptpN): raw hardware timestamps.</summary>
    Phc = 3,
}
