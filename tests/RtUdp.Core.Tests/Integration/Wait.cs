namespace RtUdp.Core.Tests.Integration;

/// <summary>Waits on a condition with a deadline instead of sleeping a guessed time.</summary>
public static class Wait
{
    public static void Until(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        // Monotonic: a step of the wall clock neither shortens nor stretches the wait.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var spinner = new SpinWait();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting for: {describe()}");
            }
            spinner.SpinOnce(sleep1Threshold: -1);
            if (spinner.Count > 100)
            {
                Thread.Sleep(1);
            }
        }
    }
}
