using System.Runtime.InteropServices;
using Tmds.Linux;

namespace RtUdp.Core.Native;

/// <summary>
/// &lt;linux/futex.h&gt; futex_waitv(2) (Linux 5.16): one thread sleeps on several futex words at once, which
/// is how the client intake agent waits on every client's TX doorbell and every receive channel's ring.
/// </summary>
public static unsafe partial class Libc
{
    /// <summary>Size flag of a futex_waitv waiter: a 32-bit word (FUTEX2_SIZE_U32 since 6.7; FUTEX_32 before).</summary>
    public const uint FUTEX_32 = 2;

    /// <inheritdoc cref="FUTEX_32"/>
    public const uint FUTEX2_SIZE_U32 = 2;

    /// <summary>The most waiters one futex_waitv call takes.</summary>
    public const int FUTEX_WAITV_MAX = 128;

    /// <summary>Syscall number of futex_waitv(2): 449 in the generic table, which x86_64 and arm64 share; -1 elsewhere.</summary>
    public static readonly int SYS_futex_waitv = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 449,
        Architecture.Arm64 => 449,
        _ => -1,
    };

    /// <summary>
    /// Whether this kernel has futex_waitv (5.16 and later): a call with no waiters is EINVAL where it exists and
    /// ENOSYS where it does not. Probed once.
    /// </summary>
    public static bool FutexWaitvAvailable => s_futexWaitv.Value;

    private static readonly Lazy<bool> s_futexWaitv = new(() =>
        SYS_futex_waitv >= 0 && (syscall(SYS_futex_waitv, 0, 0, 0, 0, 0, 0) != -1 || Marshal.GetLastPInvokeError() != Errno.ENOSYS));

    /// <summary>One waiter: sleep while <c>*uaddr == val</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct futex_waitv
    {
        public ulong val;
        public ulong uaddr;
        public uint flags;
        public uint __reserved;
    }

    /// <summary>
    /// Sleeps until one of the <paramref name="count"/> words no longer holds its value and is woken, or the
    /// absolute CLOCK_MONOTONIC deadline passes (negative: forever). The waiters must not set FUTEX2_PRIVATE,
    /// so that a FUTEX_WAKE from another process (shared key) reaches them.
    /// </summary>
    /// <returns>
    /// 0 when woken (the index of the word is not needed: callers re-check everything); otherwise ETIMEDOUT,
    /// EAGAIN (a word no longer held its value) or EINTR.
    /// </returns>
    /// <exception cref="NativeCallException">Any other failure (EFAULT, EINVAL, ENOSYS on a kernel before 5.16).</exception>
    public static int futex_waitv_abs(futex_waitv* waiters, int count, long deadlineMonotonicNs)
    {
        int number = SYS_futex_waitv;
        if (number < 0)
        {
            ThrowUnsupportedArchitecture();
        }

        timespec deadline = ToTimespec(deadlineMonotonicNs);
        timespec* timeout = deadlineMonotonicNs < 0 ? null : &deadline;
        nint result = syscall(number, (nint)waiters, count, 0, (nint)timeout, CLOCK_MONOTONIC, 0);
        if (result != -1)
        {
            return 0;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is Errno.ETIMEDOUT or Errno.EAGAIN or Errno.EINTR)
        {
            return errno;
        }

        Errno.ThrowFor(errno, "futex_waitv");
        return errno;
    }
}
