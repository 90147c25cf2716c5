using System.Diagnostics;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Closing the connection to an engine that dies under a command (rtudpd does when the engine exits): the command
/// waiting for its answer gives up at once with UNAVAILABLE, and nothing reads the unmapped answer ring (that read
/// took rtudpd down with an access violation). Uses a stopped engine (SIGSTOP) so that the command is sure to wait.
/// </summary>
public sealed class EngineConnectionCloseTests
{
    [Fact]
    public void A_command_waiting_for_its_answer_gives_up_when_the_connection_closes_and_later_calls_are_refused()
    {
        using EngineFixture fixture = EngineFixture.StartWith();
        EngineConnection connection = fixture.Client;
        connection.Ping();
        Assert.Equal(0, Tmds.Linux.LibC.kill(fixture.Engine.Pid, Tmds.Linux.LibC.SIGSTOP));
        try
        {
            EngineCommandException? failure = null;
            var clock = new Stopwatch();
            int tid = 0;
            var waiting = new Thread(() =>
            {
                Volatile.Write(ref tid, RtUdp.Core.Native.Libc.gettid());
                try
                {
                    connection.Ping(TimeSpan.FromSeconds(30));
                }
                catch (EngineCommandException e)
                {
                    failure = e;
                    clock.Stop();
                }
            }) { IsBackground = true };
            waiting.Start();
            // Asleep in the kernel on the answer ring's futex (the engine, stopped, cannot answer).
            Wait.Until(() => Volatile.Read(ref tid) != 0 && AsleepOnFutex(Volatile.Read(ref tid)), TimeSpan.FromSeconds(5), "the ping asleep waiting for its answer");

            clock.Start();
            connection.Dispose();
            Assert.True(waiting.Join(TimeSpan.FromSeconds(5)), "the waiting ping never gave up");
            Assert.NotNull(failure);
            Assert.Equal(EngineStatus.Unavailable, failure.Status);
            Assert.Contains("closed", failure.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the ping gave up {clock.Elapsed.TotalMilliseconds:0} ms after the close");

            // After the close: commands are refused, health reads say stopped, a second close is harmless.
            EngineCommandException refused = Assert.Throws<EngineCommandException>(() => connection.Ping());
            Assert.Equal(EngineStatus.Unavailable, refused.Status);
            Assert.Equal(EngineState.Stopped, connection.ReadHealth().State);
            connection.Dispose();
        }
        finally
        {
            _ = Tmds.Linux.LibC.kill(fixture.Engine.Pid, Tmds.Linux.LibC.SIGCONT);
        }
    }

    private static bool AsleepOnFutex(int tid)
    {
        try
        {
            return File.ReadAllText($"/proc/self/task/{tid}/wchan").Contains("futex", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false; // the thread ended
        }
    }
}
