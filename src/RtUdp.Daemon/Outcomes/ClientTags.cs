using System.Collections.Concurrent;

namespace RtUdp.Daemon.Outcomes;

/// <summary>
/// A small number per client identity (<see cref="Limits.ClientIdentity"/>), carried in each packet's TX
/// record and echoed in its report, so that WatchOutcomes can give a client only its own packets. Tags
/// live as long as the daemon; 0 is nobody in particular (generators).
/// </summary>
public sealed class ClientTags
{
    private readonly ConcurrentDictionary<string, int> _tags = new(StringComparer.Ordinal);
    private int _last;

    public int Of(string identity) => _tags.GetOrAdd(identity, _ => Interlocked.Increment(ref _last));
}
