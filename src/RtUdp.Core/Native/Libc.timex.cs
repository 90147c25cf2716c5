using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

#pragma warning disable CS8981 // C's all-lowercase struct names, kept verbatim like the rest of Libc.

/// <summary>
/// &lt;sys/timex.h&gt; (glibc, 64-bit): reading the kernel clock's discipline state, including the
/// TAI-UTC offset that CLOCK_TAI depends on.
/// </summary>
public static unsafe partial class Libc
{
    public const int ADJ_OFFSET = 0x0001;
    public const int ADJ_FREQUENCY = 0x0002;
    public const int ADJ_STATUS = 0x0010;
    public const int ADJ_TAI = 0x0080;
    public const int ADJ_MICRO = 0x1000;
    public const int ADJ_NANO = 0x2000;

    /// <summary>Clock status bit: the clock is not synchronised (set by the kernel until NTP/PTP clears it).</summary>
    public const int STA_UNSYNC = 0x0040;
    public const int STA_NANO = 0x2000;

    /// <summary>adjtimex return values: the clock state.</summary>
    public const int TIME_OK = 0;
    public const int TIME_INS = 1;
    public const int TIME_DEL = 2;
    public const int TIME_OOP = 3;
    public const int TIME_WAIT = 4;
    public const int TIME_ERROR = 5;

    /// <summary>&lt;sys/time.h&gt;'s <c>struct timeval</c> (64-bit), embedded in <see cref="timex"/>.</summary>
    public struct timeval
    {
        public long tv_sec;
        public long tv_usec;
    }

    /// <summary>
    /// glibc's <c>struct timex</c> on 64-bit targets: 208 bytes, the trailing eleven anonymous
    /// <c>int :32</c> bit-fields reserved for the kernel.
    /// </summary>
    public struct timex
    {
        public uint modes;
        public long offset;
        public long freq;
        public long maxerror;
        public long esterror;
        public int status;
        public long constant;
        public long precision;
        public long tolerance;
        public timeval time;
        public long tick;
        public long ppsfreq;
        public long jitter;
        public int shift;
        public long stabil;
        public long jitcnt;
        public long calcnt;
        public long errcnt;
        public long stbcnt;
        public int tai;
        private fixed int _reserved[11];
    }

    /// <summary>With <c>modes = 0</c> only reads; any other mode needs CAP_SYS_TIME.</summary>
    /// <returns>The clock state (TIME_OK..TIME_ERROR), or -1 with errno set.</returns>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int adjtimex(timex* buf);
}
