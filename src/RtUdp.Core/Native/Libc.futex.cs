using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RtUdp.Core.Native;

/// <summary>&lt;linux/futex.h&gt;: cross-process wait/wake on a 32-bit word in shared memory.</summary>
public static unsafe partial class Libc
{
    public const int FUTEX_WAIT = 0;
    public const int FUTEX_WAKE = 1;
    public const int FUTEX_WAIT_BITSET = 9;
    public const int FUTEX_WAKE_BITSET = 10;
    public const int FUTEX_PRIVATE_FLAG = 128;
    public const int FUTEX_CLOCK_REALTIME = 256;
    public const uint FUTEX_BITSET_MATCH_ANY = 0xffffffff;

    /// <summary>
    /// Syscall number of futex(2) for the running architecture, or -1 where unknown
    /// (a throwing initializer here would poison every member of <see cref="Libc"/>).
    /// </summary>
    public static readonly int SYS_futex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        _ => -1,
    };

    /// <summary>
    /// Sleeps while <c>*uaddr == expected</c>, until woken or until the absolute CLOCK_MONOTONIC
    /// deadline passes. A negative deadline waits forever.
    /// </summary>
    /// <returns>0 when woken (possibly spuriously); otherwise ETIMEDOUT, EAGAIN (the word no longer
    /// held <paramref name="expected"/>) or EINTR. Callers must re-check their condition in every case.</returns>
    /// <exception cref="NativeCallException">Any other failure, e.g. EFAULT or EINVAL.</exception>
    public static int futex_wait_bitset_abs(int* uaddr, int expected, long deadlineMonotonicNs)
    {
        // FUTEX_WAIT_BITSET, unlike FUTEX_WAIT, takes an absolute deadline, so retries after EINTR
        // do not stretch the total wait. No FUTEX_PRIVATE_FLAG: the word may be shared with other
        // processes through a mapping, and private futexes are keyed by this process's mm only.
        timespec deadline = ToTimespec(deadlineMonotonicNs);
        timespec* timeout = deadlineMonotonicNs < 0 ? null : &deadline;
        nint result = syscall(FutexSyscall(), (nint)uaddr, FUTEX_WAIT_BITSET, expected, (nint)timeout, 0,
            unchecked((nint)FUTEX_BITSET_MATCH_ANY));
        if (result != -1)
        {
            return 0;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is Errno.ETIMEDOUT or Errno.EAGAIN or Errno.EINTR)
        {
            return errno;
        }

        Errno.ThrowFor(errno, "futex(FUTEX_WAIT_BITSET)");
        return errno;
    }

    /// <summary>Wakes up to <paramref name="count"/> waiters on <paramref name="uaddr"/>.</summary>
    /// <returns>The number of waiters woken.</returns>
    public static int futex_wake(int* uaddr, int count)
    {
        // Shared (non-private) to match the waiters, which may live in another process.
        nint result = syscall(FutexSyscall(), (nint)uaddr, FUTEX_WAKE, count, 0, 0, 0);
        return (int)Errno.Check((long)result, "futex(FUTEX_WAKE)");
    }

    private static int FutexSyscall()
    {
        int number = SYS_futex;
        if (number < 0)
        {
            ThrowUnsupportedArchitecture();
        }

        return number;
    }

    private static void ThrowUnsupportedArchitecture() =>
        throw new PlatformNotSupportedException(
            $"futex syscall number unknown for {RuntimeInformation.ProcessArchitecture}");
}
