namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Tests that measure CPU time or timing run alone: on a 2-CPU machine, other test classes' SCHED_FIFO
/// workers running at the same time would make the measurement about them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (timing-sensitive)";
}
