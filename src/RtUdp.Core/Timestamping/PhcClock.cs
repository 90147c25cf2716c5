using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Timestamping;

/// <summary>How <see cref="PhcClock.Measure"/> reads the PHC against the system clock.</summary>
public enum PhcOffsetMethod : byte
{
    /// <summary>Not measured yet.</summary>
    None = 0,

    /// <summary>PTP_SYS_OFFSET_PRECISE: a hardware cross-timestamp (device, CLOCK_REALTIME, CLOCK_MONOTONIC_RAW at one instant).</summary>
    Precise = 1,

    /// <summary>PTP_SYS_OFFSET_EXTENDED: [realtime, phc, realtime] triples taken by the driver around its register read.</summary>
    Extended = 2,

    /// <summary>PTP_SYS_OFFSET: interleaved realtime/phc readings taken around the whole gettime call.</summary>
    Plain = 3,
}

/// <summary>
/// A PTP hardware clock, /dev/ptpN, opened for reading and measuring against CLOCK_MONOTONIC.
/// <see cref="Measure"/> is meant for the conductor (it allocates nothing but may throw); publish the
/// result through <see cref="SeqLockedOffset"/> to real-time threads.
/// </summary>
public sealed unsafe class PhcClock : IDisposable
{
    /// <summary>Samples requested from PTP_SYS_OFFSET(_EXTENDED) by default.</summary>
    public const int DefaultSamples = 5;

    private const int CLOCKFD = 3;
    private const int ENOTTY = 25;
    private const int RealtimeRounds = 4;

    // One buffer large enough for any of the three request structs (the extended one is the largest).
    private readonly byte* _buffer;
    private int _fd;
    private int _samples = DefaultSamples;

    private PhcClock(int fd, int index, string path)
    {
        _fd = fd;
        Index = index;
        Path = path;
        ClockId = FdToClockId(fd);
        nuint size = (nuint)Math.Max(sizeof(Libc.ptp_sys_offset_extended),
            Math.Max(sizeof(Libc.ptp_sys_offset), sizeof(Libc.ptp_sys_offset_precise)));
        _buffer = (byte*)NativeMemory.AllocZeroed(size);
    }

    /// <summary>The N of /dev/ptpN (ethtool -T reports it as the PTP Hardware Clock index).</summary>
    public int Index { get; }

    public string Path { get; }

    public int Fd => _fd;

    /// <summary>The dynamic clockid for clock_gettime and SO_TXTIME: FD_TO_CLOCKID(fd) = ((~fd) &lt;&lt; 3) | 3.</summary>
    public int ClockId { get; }

    /// <summary>The method that worked last; chosen on the first <see cref="Measure"/>.</summary>
    public PhcOffsetMethod Method { get; private set; }

    /// <summary>n_samples for the EXTENDED and plain methods, 1..PTP_MAX_SAMPLES.</summary>
    public int Samples
    {
        get => _samples;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Libc.PTP_MAX_SAMPLES);
            _samples = value;
        }
    }

    /// <summary>Opens /dev/ptp{phcIndex} read-write.</summary>
    /// <exception cref="NativeCallException">open failed; <c>Call</c> names the device, e.g. ENOENT for a missing one.</exception>
    public static PhcClock Open(int phcIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(phcIndex);
        return OpenPath("/dev/ptp" + phcIndex.ToString(CultureInfo.InvariantCulture), phcIndex);
    }

    /// <summary>Opens any path as a PHC (tests use a non-PTP device to exercise the fallbacks).</summary>
    internal static PhcClock OpenPath(string path, int phcIndex)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = bytes)
        {
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            Errno.ThrowFor(Marshal.GetLastPInvokeError(), $"open({path})");
        }

        return new PhcClock(fd, phcIndex, path);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FdToClockId(int fd) => (~fd << 3) | CLOCKFD;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ClockIdToFd(int clockid) => ~(clockid >> 3);

    /// <summary>
    /// Measures PHC − CLOCK_MONOTONIC. The first call tries PTP_SYS_OFFSET_PRECISE, then
    /// PTP_SYS_OFFSET_EXTENDED, then PTP_SYS_OFFSET (moving on for EOPNOTSUPP, ENOTTY or EINVAL) and
    /// remembers the one that works in <see cref="Method"/>. All three report system time as
    /// CLOCK_REALTIME, which is converted to CLOCK_MONOTONIC with a realtime offset sampled right
    /// after the ioctl; its uncertainty is added to the result's.
    /// </summary>
    /// <exception cref="NativeCallException">No method works, or the remembered one failed.</exception>
    public ClockOffset Measure()
    {
        ObjectDisposedException.ThrowIf(_fd < 0, this);
        ClockOffset result;
        if (Method != PhcOffsetMethod.None)
        {
            int errno = TryMeasure(Method, out result);
            if (errno != 0)
            {
                Errno.ThrowFor(errno, RequestName(Method));
            }

            return result;
        }

        int last = 0;
        for (PhcOffsetMethod method = PhcOffsetMethod.Precise; method <= PhcOffsetMethod.Plain; method++)
        {
            last = TryMeasure(method, out result);
            if (last == 0)
            {
                Method = method;
                return result;
            }

            if (last is not (Errno.EOPNOTSUPP or ENOTTY or Errno.EINVAL))
            {
                Errno.ThrowFor(last, RequestName(method));
            }
        }

        Errno.ThrowFor(last, "ioctl(PTP_SYS_OFFSET*)");
        return default;
    }

    /// <summary>One measurement with one method: 0 on success, else the errno.</summary>
    public int TryMeasure(PhcOffsetMethod method, out ClockOffset result)
    {
        result = default;
        if (_fd < 0)
        {
            return Errno.EBADF;
        }

        switch (method)
        {
            case PhcOffsetMethod.Precise:
            {
                var request = (Libc.ptp_sys_offset_precise*)_buffer;
                *request = default;
                if (LibC.ioctl(_fd, unchecked((int)Libc.PTP_SYS_OFFSET_PRECISE), request) < 0)
                {
                    return Marshal.GetLastPInvokeError();
                }

                result = FromPrecise(*request, ClockSampler.Sample(Libc.CLOCK_REALTIME, RealtimeRounds));
                return 0;
            }

            case PhcOffsetMethod.Extended:
            {
                var request = (Libc.ptp_sys_offset_extended*)_buffer;
                *request = default;
                request->n_samples = (uint)_samples;
                if (LibC.ioctl(_fd, unchecked((int)Libc.PTP_SYS_OFFSET_EXTENDED), request) < 0)
                {
                    return Marshal.GetLastPInvokeError();
                }

                var stamps = new ReadOnlySpan<Libc.ptp_clock_time>(request->ts, 3 * _samples);
                result = FromExtended(stamps, _samples, ClockSampler.Sample(Libc.CLOCK_REALTIME, RealtimeRounds));
                return 0;
            }

            case PhcOffsetMethod.Plain:
            {
                var request = (Libc.ptp_sys_offset*)_buffer;
                *request = default;
                request->n_samples = (uint)_samples;
                if (LibC.ioctl(_fd, unchecked((int)Libc.PTP_SYS_OFFSET), request) < 0)
                {
                    return Marshal.GetLastPInvokeError();
                }

                var stamps = new ReadOnlySpan<Libc.ptp_clock_time>(request->ts, (2 * _samples) + 1);
                result = FromPlain(stamps, _samples, ClockSampler.Sample(Libc.CLOCK_REALTIME, RealtimeRounds));
                return 0;
            }

            default:
                return Errno.EINVAL;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToNanoseconds(in Libc.ptp_clock_time time) => (time.sec * 1_000_000_000L) + time.nsec;

    /// <summary>
    /// PTP_SYS_OFFSET_PRECISE: the device and CLOCK_REALTIME were captured at the same instant, so the
    /// only uncertainty is the realtime→monotonic conversion's.
    /// </summary>
    /// <param name="realtime">CLOCK_REALTIME − CLOCK_MONOTONIC, sampled close to the ioctl.</param>
    public static ClockOffset FromPrecise(in Libc.ptp_sys_offset_precise sample, in ClockOffset realtime)
    {
        long mono = realtime.ToMonotonic(ToNanoseconds(sample.sys_realtime));
        return new ClockOffset(ToNanoseconds(sample.device) - mono, realtime.UncertaintyNs, mono);
    }

    /// <summary>
    /// PTP_SYS_OFFSET_EXTENDED: <paramref name="stamps"/> holds <paramref name="samples"/> triples
    /// [realtime before, phc, realtime after]; the narrowest bracket wins.
    /// </summary>
    public static ClockOffset FromExtended(ReadOnlySpan<Libc.ptp_clock_time> stamps, int samples, in ClockOffset realtime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stamps.Length, 3 * samples);
        int best = 0;
        long bestWidth = long.MaxValue;
        for (int i = 0; i < samples; i++)
        {
            long width = ToNanoseconds(stamps[(3 * i) + 2]) - ToNanoseconds(stamps[3 * i]);
            if (width >= 0 && width < bestWidth)
            {
                bestWidth = width;
                best = i;
            }
        }

        return FromRealtimeBracket(
            ToNanoseconds(stamps[3 * best]), ToNanoseconds(stamps[(3 * best) + 1]), ToNanoseconds(stamps[(3 * best) + 2]),
            realtime);
    }

    /// <summary>
    /// PTP_SYS_OFFSET: <paramref name="stamps"/> holds 2 * <paramref name="samples"/> + 1 readings,
    /// realtime, phc, realtime, phc, ..., realtime; sample i is (ts[2i], ts[2i+1], ts[2i+2]).
    /// </summary>
    public static ClockOffset FromPlain(ReadOnlySpan<Libc.ptp_clock_time> stamps, int samples, in ClockOffset realtime)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stamps.Length, (2 * samples) + 1);
        int best = 0;
        long bestWidth = long.MaxValue;
        for (int i = 0; i < samples; i++)
        {
            long width = ToNanoseconds(stamps[(2 * i) + 2]) - ToNanoseconds(stamps[2 * i]);
            if (width >= 0 && width < bestWidth)
            {
                bestWidth = width;
                best = i;
            }
        }

        return FromRealtimeBracket(
            ToNanoseconds(stamps[2 * best]), ToNanoseconds(stamps[(2 * best) + 1]), ToNanoseconds(stamps[(2 * best) + 2]),
            realtime);
    }

    /// <summary>
    /// A PHC reading bracketed by two CLOCK_REALTIME readings → PHC − CLOCK_MONOTONIC, with
    /// uncertainty = half the bracket (rounded up) + the realtime offset's uncertainty.
    /// </summary>
    public static ClockOffset FromRealtimeBracket(long realtimeBefore, long phc, long realtimeAfter, in ClockOffset realtime)
    {
        ClockOffset phcVsRealtime = ClockSampler.FromBracket(realtimeBefore, phc, realtimeAfter);
        long mono = realtime.ToMonotonic(phcVsRealtime.SampledAtMonotonicNs);
        return new ClockOffset(phc - mono, phcVsRealtime.UncertaintyNs + realtime.UncertaintyNs, mono);
    }

    private static string RequestName(PhcOffsetMethod method) => method switch
    {
        PhcOffsetMethod.Precise => "ioctl(PTP_SYS_OFFSET_PRECISE)",
        PhcOffsetMethod.Extended => "ioctl(PTP_SYS_OFFSET_EXTENDED)",
        _ => "ioctl(PTP_SYS_OFFSET)",
    };

    public void Dispose()
    {
        if (_fd < 0)
        {
            return;
        }

        _ = LibC.close(_fd);
        _fd = -1;
        NativeMemory.Free(_buffer);
    }
}
