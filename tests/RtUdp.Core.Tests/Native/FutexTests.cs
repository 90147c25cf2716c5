using System.Runtime.InteropServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Native;

public sealed unsafe class FutexTests : IDisposable
{
    private const long Millisecond = 1_000_000;

    // Native memory: the word needs a fixed address that another thread can wait on.
    private readonly int* _word = (int*)NativeMemory.AllocZeroed(sizeof(int));

    public void Dispose() => NativeMemory.Free(_word);

    [Fact]
    public void Wait_with_a_past_deadline_times_out()
    {
        int result = Libc.futex_wait_bitset_abs(_word, 0, Libc.MonotonicNow() - Millisecond);

        Assert.Equal(Errno.ETIMEDOUT, result);
    }

    [Fact]
    public void Wait_on_a_changed_word_returns_EAGAIN()
    {
        *_word = 1;

        int result = Libc.futex_wait_bitset_abs(_word, 0, Libc.MonotonicNow() + 1000 * Millisecond);

        Assert.Equal(Errno.EAGAIN, result);
    }

    [Fact]
    public void Wake_without_waiters_wakes_nobody()
    {
        Assert.Equal(0, Libc.futex_wake(_word, int.MaxValue));
    }

    [Fact]
    public void Invalid_address_throws()
    {
        var ex = Assert.Throws<NativeCallException>(() => Libc.futex_wait_bitset_abs((int*)1, 0, -1));

        Assert.Equal(Errno.EINVAL, ex.Errno);
    }

    [Fact]
    public void Wake_from_another_thread_releases_a_waiter()
    {
        int* word = _word;
        int woken = 0;
        // The waker leaves the word unchanged and retries until it actually wakes someone, so the
        // waiter cannot return early with EAGAIN and the test does not depend on thread timing.
        var waker = new Thread(() =>
        {
            long giveUp = Libc.MonotonicNow() + 10_000 * Millisecond;
            while (woken == 0 && Libc.MonotonicNow() < giveUp)
            {
                Thread.Sleep(1);
                woken = Libc.futex_wake(word, 1);
            }
        });
        waker.Start();

        int result;
        long deadline = Libc.MonotonicNow() + 30_000 * Millisecond;
        do
        {
            result = Libc.futex_wait_bitset_abs(word, 0, deadline);
        }
        while (result == Errno.EINTR);
        waker.Join();

        Assert.Equal(0, result);
        Assert.Equal(1, woken);
    }
}
