namespace RtUdp.Core.Native;

/// <summary>
/// &lt;linux/ptp_clock.h&gt;: reading a PTP hardware clock (/dev/ptpN) against the system clocks.
/// Use with Tmds.Linux.LibC.ioctl; the request numbers are unsigned in C and above int.MaxValue
/// for _IOWR, so pass them as <c>unchecked((int)PTP_SYS_OFFSET_PRECISE)</c> (the kernel reads the
/// request as a 32-bit unsigned int, so the sign extension is harmless).
/// </summary>
public static unsafe partial class Libc
{
    /// <summary>Maximum n_samples for PTP_SYS_OFFSET and PTP_SYS_OFFSET_EXTENDED.</summary>
    public const int PTP_MAX_SAMPLES = 25;

    // <asm-generic/ioctl.h>: _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr.
    // C# cannot take sizeof() of a struct in a constant, so the sizes are spelled out here and both
    // they and the resulting request numbers are checked against gcc by NativeLayoutTests.
    private const uint _IOC_WRITE = 1;
    private const uint _IOC_READ = 2;
    private const uint PTP_CLK_MAGIC = '=';
    private const uint SizeofPtpSysOffset = 16 + (2 * PTP_MAX_SAMPLES + 1) * 16;
    private const uint SizeofPtpSysOffsetPrecise = 3 * 16 + 16;
    private const uint SizeofPtpSysOffsetExtended = 16 + PTP_MAX_SAMPLES * 3 * 16;

    /// <summary>_IOW('=', 5, struct ptp_sys_offset): interleaved CLOCK_REALTIME/PHC readings.</summary>
    public const uint PTP_SYS_OFFSET =
        (_IOC_WRITE << 30) | (SizeofPtpSysOffset << 16) | (PTP_CLK_MAGIC << 8) | 5;

    /// <summary>_IOWR('=', 8, struct ptp_sys_offset_precise): a hardware cross-timestamp.</summary>
    public const uint PTP_SYS_OFFSET_PRECISE =
        ((_IOC_READ | _IOC_WRITE) << 30) | (SizeofPtpSysOffsetPrecise << 16) | (PTP_CLK_MAGIC << 8) | 8;

    /// <summary>_IOWR('=', 9, struct ptp_sys_offset_extended): [sys, phc, sys] triples.</summary>
    public const uint PTP_SYS_OFFSET_EXTENDED =
        ((_IOC_READ | _IOC_WRITE) << 30) | (SizeofPtpSysOffsetExtended << 16) | (PTP_CLK_MAGIC << 8) | 9;

    public struct ptp_clock_time
    {
        public long sec;
        public uint nsec;
        public uint reserved;
    }

    /// <summary>
    /// <c>ts</c> holds 2 * PTP_MAX_SAMPLES + 1 <see cref="ptp_clock_time"/> values (two longs each):
    /// sys, phc, sys, phc, ..., sys; the kernel fills 2 * n_samples + 1 of them. System times are
    /// CLOCK_REALTIME.
    /// </summary>
    public struct ptp_sys_offset
    {
        public uint n_samples;
        public fixed uint rsv[3];
        public fixed long ts[2 * (2 * PTP_MAX_SAMPLES + 1)];
    }

    /// <summary>
    /// <c>ts</c> is <c>struct ptp_clock_time ts[PTP_MAX_SAMPLES][3]</c> as longs: per sample
    /// [sys before, phc, sys after]. System times are CLOCK_REALTIME; rsv must stay zero (the kernel
    /// rejects other values with EINVAL, at least up to the headers this is checked against).
    /// </summary>
    public struct ptp_sys_offset_extended
    {
        public uint n_samples;
        public fixed uint rsv[3];
        public fixed long ts[PTP_MAX_SAMPLES * 3 * 2];
    }

    /// <summary>A cross-timestamp: the device time and the system clocks at the same instant.</summary>
    public struct ptp_sys_offset_precise
    {
        public ptp_clock_time device;
        public ptp_clock_time sys_realtime;
        public ptp_clock_time sys_monoraw;
        public fixed uint rsv[4];
    }
}
