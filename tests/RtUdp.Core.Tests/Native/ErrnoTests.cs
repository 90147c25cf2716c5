using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Native;

public sealed unsafe class ErrnoTests
{
    [Fact]
    public void Check_turns_a_failed_call_into_an_exception_naming_call_and_errno()
    {
        var ex = Assert.Throws<NativeCallException>(() => Errno.Check(LibC.close(-1), "close"));

        Assert.Equal("close", ex.Call);
        Assert.Equal(Errno.EBADF, ex.Errno);
        Assert.StartsWith("close failed: EBADF (", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Own_bindings_report_errno_through_Check()
    {
        Libc.sched_param* param = stackalloc Libc.sched_param[1];
        param->sched_priority = 0;

        var ex = Assert.Throws<NativeCallException>(
            () => Errno.Check(Libc.sched_setscheduler(0, 12345, param), "sched_setscheduler"));

        Assert.Equal("sched_setscheduler", ex.Call);
        Assert.Equal(Errno.EINVAL, ex.Errno);
        Assert.Contains("EINVAL", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_passes_successful_results_through()
    {
        Assert.Equal(7, Errno.Check(7, "x"));
        Assert.Equal(1L << 40, Errno.Check(1L << 40, "x"));
    }

    [Fact]
    public void Describe_combines_symbolic_name_and_strerror_text()
    {
        string text = Errno.Describe(Errno.EPERM);

        Assert.StartsWith("EPERM (", text, StringComparison.Ordinal);
        Assert.EndsWith(")", text, StringComparison.Ordinal);
        Assert.True(text.Length > "EPERM ()".Length, text);
        Assert.Equal("errno 4000", Errno.Name(4000));
    }

    [Fact]
    public void ThrowFor_uses_the_given_errno()
    {
        var ex = Assert.Throws<NativeCallException>(() => Errno.ThrowFor(Errno.ENOSPC, "write"));

        Assert.Equal(Errno.ENOSPC, ex.Errno);
        Assert.StartsWith("write failed: ENOSPC (", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scheduler_queries_work()
    {
        int max = Errno.Check(Libc.sched_get_priority_max(LibC.SCHED_FIFO), "sched_get_priority_max");
        int min = Errno.Check(Libc.sched_get_priority_min(LibC.SCHED_FIFO), "sched_get_priority_min");

        Assert.InRange(min, 1, max);
        Assert.True(Errno.Check(Libc.sched_getscheduler(0), "sched_getscheduler") >= 0);
    }

    [Fact]
    public void Thread_and_process_queries_work()
    {
        Assert.True(Errno.Check(Libc.gettid(), "gettid") > 0);
        // PR_GET_TIMERSLACK returns the slack itself; every thread has a positive one.
        Assert.True(Errno.Check(Libc.prctl(Libc.PR_GET_TIMERSLACK, 0, 0, 0, 0), "prctl") > 0);
    }

    [Fact]
    public void if_nametoindex_finds_loopback_and_reports_ENODEV_otherwise()
    {
        fixed (byte* lo = "lo\0"u8)
        {
            Assert.True(Libc.if_nametoindex(lo) > 0);
        }

        fixed (byte* missing = "rtudp-none0\0"u8)
        {
            Assert.Equal(0u, Libc.if_nametoindex(missing));
            Assert.Equal(Errno.ENODEV, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }
}
