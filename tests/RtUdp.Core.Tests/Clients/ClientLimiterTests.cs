using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Engine.Clients;

namespace RtUdp.Core.Tests.Clients;

public sealed class ClientLimiterTests
{
    private const long Ms = 1_000_000;

    [Fact]
    public void No_limits_admit_everything()
    {
        var limiter = new ClientLimiter(ClientAttachLimits.None);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(limiter.TryAdmit(1000, out _));
            limiter.Taken(1000, 1_000_000_000);
        }
        Assert.Equal(0, limiter.Queued);
    }

    [Fact]
    public void A_rate_admits_the_burst_at_once_then_one_per_interval()
    {
        var limiter = new ClientLimiter(new ClientAttachLimits(1000, 5, 0, 0)); // 1 ms apart, 5 at once
        long now = 10_000 * Ms;
        for (int i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAdmit(now, out _), $"packet {i} of the burst");
            limiter.Taken(now, now);
        }
        Assert.False(limiter.TryAdmit(now, out long retryAt));
        Assert.Equal(now + Ms, retryAt);
        Assert.False(limiter.TryAdmit(retryAt - 1, out _));
        Assert.True(limiter.TryAdmit(retryAt, out _));
        limiter.Taken(retryAt, retryAt);
        Assert.False(limiter.TryAdmit(retryAt, out long next));
        Assert.Equal(retryAt + Ms, next);

        // Idle for a while: the burst is back, no more.
        long later = retryAt + (100 * Ms);
        for (int i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAdmit(later, out _));
            limiter.Taken(later, later);
        }
        Assert.False(limiter.TryAdmit(later, out _));
    }

    [Fact]
    public void Queued_ahead_packets_are_bounded_until_their_times_pass()
    {
        var limiter = new ClientLimiter(new ClientAttachLimits(0, 0, 3, 0));
        long now = 1000 * Ms;
        long[] dues = [now + (30 * Ms), now + (10 * Ms), now + (20 * Ms)];
        foreach (long due in dues)
        {
            Assert.True(limiter.TryAdmit(now, out _));
            limiter.Taken(now, due);
        }
        Assert.Equal(3, limiter.Queued);
        Assert.False(limiter.TryAdmit(now, out long retryAt));
        Assert.Equal(now + (10 * Ms), retryAt); // the earliest due frees the first place
        Assert.True(limiter.TryAdmit(now + (10 * Ms), out _));
        Assert.Equal(2, limiter.Queued);
        // An immediate (or past) packet never occupies a place.
        limiter.Taken(now + (10 * Ms), now);
        Assert.Equal(2, limiter.Queued);
        Assert.True(limiter.TryAdmit(now + (30 * Ms), out _));
        Assert.Equal(0, limiter.Queued);
    }

    [Fact]
    public void The_heap_orders_many_random_due_times()
    {
        var limiter = new ClientLimiter(new ClientAttachLimits(0, 0, 1000, 0));
        var random = new Random(7);
        long now = 0;
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryAdmit(now, out _));
            limiter.Taken(now, 1 + random.NextInt64(1_000_000));
        }
        Assert.False(limiter.TryAdmit(now, out long first));
        // Moving time forward frees exactly the packets due by then.
        for (long t = first; t <= 1_000_000; t += 50_000)
        {
            _ = limiter.TryAdmit(t, out _);
        }
        Assert.True(limiter.TryAdmit(1_000_001, out _));
        Assert.Equal(0, limiter.Queued);
    }

    [Theory]
    [InlineData(-1, 0, 0, 0, "packets per second")]
    [InlineData(0, -1, 0, 0, "burst")]
    [InlineData(0, 0, (1 << 20) + 1, 0, "queued packets")]
    [InlineData(0, 0, 0, -5, "horizon")]
    public void Impossible_limits_are_named(long rate, long burst, long queued, long horizon, string expected)
    {
        Assert.Contains(expected, new ClientAttachLimits(rate, burst, queued, horizon).Problem(), StringComparison.Ordinal);
    }
}
