using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Core.EngineLink;

/// <summary>
/// rtudpd's side of a detach: the engine's conductor answers DetachClient at once, "pending" while the intake agent
/// still drains the client (its limits or a full channel ring hold the drain back), so the question is asked again
/// until the counts come, each time as a command of its own, never holding up the others.
/// </summary>
internal static class ClientDetachPolling
{
    /// <summary>How often a detach whose drain goes on asks the engine again.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);

    /// <param name="ask">One DetachClient command: pending, or the counts.</param>
    /// <param name="limit">The drain time and the engine's answer time: past it the engine is not letting go.</param>
    /// <param name="what">"client N of channel M", for the error.</param>
    /// <exception cref="EngineCommandException">The engine refused the detach, or did not finish it within <paramref name="limit"/>.</exception>
    public static async Task<ClientDetachCounts> RunAsync(Func<(bool Pending, ClientDetachCounts Counts)> ask, TimeSpan limit, string what, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            (bool pending, ClientDetachCounts counts) = await Task.Run(ask, ct).ConfigureAwait(false);
            if (!pending)
            {
                return counts;
            }
            if (clock.Elapsed > limit)
            {
                throw new EngineCommandException(EngineStatus.Internal, $"The engine did not finish detaching {what} within {limit.TotalSeconds:0.#} s.");
            }
            await Task.Delay(Interval, ct).ConfigureAwait(false);
        }
    }
}
