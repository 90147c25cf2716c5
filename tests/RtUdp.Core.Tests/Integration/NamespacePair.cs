namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A <see cref="VethNamespacePair"/> with an engine process running in each namespace
/// (<c>ip netns exec NS rtudp-engine</c>). The engines are stopped in <see cref="Dispose(bool)"/>, before the
/// namespaces go, also when set-up fails half way.
/// </summary>
public abstract class NamespacePair : VethNamespacePair
{
    /// <inheritdoc cref="VethNamespacePair(string, int, string, int, bool)"/>
    protected NamespacePair(string prefix, int secondOctet, string needs, int queues = 1)
        : base(prefix, secondOctet, needs, queues)
    {
        if (SkipReason is not null)
        {
            return;
        }
        try
        {
            EngineA = EngineFixture.StartWrapped([IpPath!, "netns", "exec", NamespaceA]);
            EngineB = EngineFixture.StartWrapped([IpPath!, "netns", "exec", NamespaceB]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The engine running in namespace A.</summary>
    public EngineFixture? EngineA { get; private set; }

    /// <summary>The engine running in namespace B.</summary>
    public EngineFixture? EngineB { get; private set; }

    protected override void Dispose(bool disposing)
    {
        // Engines first: they run inside the namespaces.
        EngineA?.Dispose();
        EngineA = null;
        EngineB?.Dispose();
        EngineB = null;
        base.Dispose(disposing);
    }
}

/// <summary>The pair for the seed flow's namespace test: 10.231.N.0/30.</summary>
public sealed class NamespacePairFixture() : NamespacePair("rtudp", 231, "network namespaces, veth");
