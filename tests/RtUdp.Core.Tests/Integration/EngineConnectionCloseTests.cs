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
            var waiting = new Thread(() =>
            {
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
            // The ping's command is in the ring (the engine, stopped, cannot take it): the ping waits for its answer,
            // asleep on the answer ring or about to be.
            using (EngineControlFile control = EngineControlFile.OpenRunning(Path.Combine(fixture.Directory, EngineControlLayout.FileName))
                ?? throw new InvalidOperationException("the engine's control file is gone"))
            {
                Wait.Until(() => control.Commands.HasPublishedAt(control.Commands.HeadPositionVolatile), TimeSpan.FromSeconds(5), "the ping's command in the ring");
            }

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
}
