using System.Diagnostics;

namespace RtUdp.Testing;

/// <summary>
/// Waits on a condition with a deadline instead of sleeping a guessed time. Linked into the test projects.
/// The clock is monotonic: a step of the wall clock neither shortens nor stretches a wait.
/// </summary>
internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> (spinning, then every millisecond) until it holds; fails after <paramref name="timeout"/>.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what) => Until(condition, timeout, () => what);

    /// <inheritdoc cref="Until(Func{bool}, TimeSpan, string)"/>
    /// <param name="describe">What was awaited, asked only on failure (it may read a log, a counter).</param>
    public static void Until(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var clock = Stopwatch.StartNew();
        var spinner = new SpinWait();
        while (!condition())
        {
            FailAfter(clock, timeout, describe);
            spinner.SpinOnce(sleep1Threshold: -1);
            if (spinner.Count > 100)
            {
                Thread.Sleep(1);
            }
        }
    }

    /// <summary>Polls <paramref name="condition"/> every <paramref name="interval"/> (default 20 ms) without blocking a thread; fails after <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, describe, interval);

    /// <inheritdoc cref="UntilAsync(Func{bool}, TimeSpan, Func{string}, TimeSpan?)"/>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            FailAfter(clock, timeout, describe);
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(20));
        }
    }

    private static void FailAfter(Stopwatch clock, TimeSpan timeout, Func<string> describe)
    {
        if (clock.Elapsed > timeout)
        {
            Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {describe()}");
        }
    }
}
