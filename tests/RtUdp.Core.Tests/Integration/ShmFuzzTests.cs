using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A client that scribbles over its own region, while the engine reads it, hurts only itself: the engine
/// survives, counts what it found, and another client's packets on another channel leave as punctually as
/// they did with nobody scribbling (docs/shm-clients.md). Timing-sensitive: run alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class ShmFuzzTests(EngineFixture fixture, ITestOutputHelper output) : IClassFixture<EngineFixture>
{
    private const long Ms = 1_000_000;
    private const int VictimPackets = 300;

    [Fact]
    public void Random_and_adversarial_bytes_in_one_ring_leave_the_engine_and_another_client_unharmed()
    {
        using ChannelHandle victimRx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "fuzz-victim-rx"));
        using ChannelHandle victimTx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "fuzz-victim-tx", victimRx.BoundLocal));
        using ChannelHandle attackRx = fixture.Client.CreateChannel(TestChannels.Receiver(fixture.NextId(), "fuzz-attack-rx"));
        using ChannelHandle attackTx = fixture.Client.CreateChannel(TestChannels.Sender(fixture.NextId(), "fuzz-attack-tx", attackRx.BoundLocal));
        foreach (ChannelHandle channel in new[] { victimRx, victimTx, attackRx, attackTx })
        {
            Assert.Equal(ChannelState.Running, fixture.Client.StartChannel(channel.Id));
        }
        using var victim = new ShmTestClient(fixture.Client, victimTx, ClientRegionFlags.Send);

        _ = VictimRun(victim, victimRx, 0); // warm-up: both processes' paths taken once
        int runs = 1;
        var attacks = new AttackTally();
        long idleP99 = 0;
        long fuzzP99 = 0;
        // A loaded host (other tests, other work on 2 CPUs) makes any one p99 noisy: a pair of runs whose fuzzed
        // p99 missed the bound is run again, up to 3 times, as a step that missed its burst is elsewhere.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            long[] idle = VictimRun(victim, victimRx, runs++ * VictimPackets);
            using var stop = new CancellationTokenSource();
            var attacker = new Thread(() => Attack(attackTx, attacks, stop.Token)) { Name = "fuzz-attacker" };
            int roundsBefore = Volatile.Read(ref attacks.Rounds);
            attacker.Start();
            long[] fuzzed;
            try
            {
                // Let the attacker get going first.
                Wait.Until(() => Volatile.Read(ref attacks.Rounds) >= roundsBefore + 2 || attacks.Failure is not null, TimeSpan.FromSeconds(10), "two attack rounds");
                fuzzed = VictimRun(victim, victimRx, runs++ * VictimPackets);
            }
            finally
            {
                stop.Cancel();
                Assert.True(attacker.Join(TimeSpan.FromSeconds(30)), "the attacker thread ended");
            }
            Assert.Null(attacks.Failure);
            idleP99 = Percentile(idle, 0.99);
            fuzzP99 = Percentile(fuzzed, 0.99);
            output.WriteLine($"attempt {attempt}: victim send error (us) idle p50 {Percentile(idle, 0.5) / 1e3:0.#} p99 {idleP99 / 1e3:0.#} max {idle.Max() / 1e3:0.#}; "
                + $"fuzzed p50 {Percentile(fuzzed, 0.5) / 1e3:0.#} p99 {fuzzP99 / 1e3:0.#} max {fuzzed.Max() / 1e3:0.#}");
            if (WithinIdleRange(fuzzP99, idleP99))
            {
                break;
            }
        }
        ChannelStats attacked = attackTx.ReadStats();
        output.WriteLine($"attack rounds {attacks.Rounds}: faults {attacked[ChannelCounter.ClientFaults]}, malformed {attacked[ChannelCounter.ClientMalformed]}, accepted {attacked[ChannelCounter.ClientAccepted]}");

        // The engine survived and still answers.
        fixture.Client.Ping();
        Assert.False(fixture.Engine.HasExited, fixture.Log);
        Assert.True(attacked[ChannelCounter.ClientFaults] >= 1, "faults were counted");
        Assert.True(attacked[ChannelCounter.ClientMalformed] >= 1, "malformed records were counted");
        Assert.Equal(attacked[ChannelCounter.ClientAccepted], attacked[ChannelCounter.Enqueued]);
        // Every victim packet was sent, and as punctually (a generous bound: a loaded 2-CPU host is noisy).
        ChannelStats victimStats = victimTx.ReadStats();
        Assert.Equal(runs * VictimPackets, victimStats[ChannelCounter.Sent]);
        Assert.Equal(0, victimStats.TxDropped);
        Assert.True(WithinIdleRange(fuzzP99, idleP99), $"victim p99 send error {fuzzP99 / 1e3:0.#} us while fuzzed, {idleP99 / 1e3:0.#} us idle");
        Accounting.AssertBalanced(victimTx, victimRx, attackTx);

        foreach (ChannelHandle channel in new[] { victimTx, victimRx, attackTx, attackRx })
        {
            fixture.Client.DeleteChannel(channel.Id);
        }
    }

    /// <summary>Generous: five times the idle p99, plus a millisecond.</summary>
    private static bool WithinIdleRange(long fuzzedP99, long idleP99) => fuzzedP99 <= (5 * idleP99) + (1 * Ms);

    /// <summary>The victim writes each packet 2 ms before its time (so the intake path's delay counts), and the arrival stamps give the errors.</summary>
    private static long[] VictimRun(ShmTestClient victim, ChannelHandle rx, int idBase)
    {
        long start = Libc.MonotonicNow() + (20 * Ms);
        var dues = new long[VictimPackets];
        byte[] payload = new byte[64];
        for (int i = 0; i < VictimPackets; i++)
        {
            dues[i] = start + (i * Ms);
            while (Libc.MonotonicNow() < dues[i] - (2 * Ms))
            {
                Thread.Sleep(0);
            }
            BitConverter.TryWriteBytes(payload, idBase + i);
            Assert.True(victim.Tx.TryWrite(payload, dues[i], idBase + i + 1, 0));
            victim.Tx.Publish();
        }
        var errors = new long[VictimPackets];
        byte[] buffer = new byte[rx.Config.MaxPayload];
        for (int n = 0; n < VictimPackets; n++)
        {
            ReceivedPacket? packet = rx.Receive(buffer, 5_000 * Ms);
            Assert.True(packet.HasValue, $"victim packet {n} of {VictimPackets} did not arrive\n{Accounting.Describe(rx.ReadStats())}");
            int i = BitConverter.ToInt32(buffer, 0) - idBase;
            errors[n] = packet.Value.BestMonotonicNs - dues[i];
        }
        return errors;
    }

    private sealed class AttackTally
    {
        public int Rounds;
        public Exception? Failure;
    }

    /// <summary>Round after round: a fresh attacker client attached, its region scribbled one way or another while the engine reads, then dropped.</summary>
    private void Attack(ChannelHandle channel, AttackTally tally, CancellationToken stop)
    {
        var random = new Random(20);
        try
        {
            for (int round = 0; !stop.IsCancellationRequested; round++)
            {
                using (var client = new ShmTestClient(fixture.Client, channel, ClientRegionFlags.Send, txCapacity: 1 << 14))
                {
                    long until = Libc.MonotonicNow() + (15 * Ms);
                    while (Libc.MonotonicNow() < until)
                    {
                        switch (round % 4)
                        {
                            case 0:
                                Garbage(client, random);
                                break;
                            case 1:
                                WellFramedNonsense(ref client.Tx, random);
                                break;
                            case 2:
                                RacingLengths(client, random);
                                break;
                            default:
                                AdversarialTails(client, random);
                                break;
                        }
                    }
                }
                Interlocked.Increment(ref tally.Rounds);
            }
        }
        catch (Exception e)
        {
            tally.Failure = e;
        }
    }

    /// <summary>Random bytes over the whole region, header included, and random tails.</summary>
    private static void Garbage(ShmTestClient client, Random random)
    {
        byte* region = client.Region.Pointer;
        var bytes = new Span<byte>(region + ClientRegionLayout.CountersOffset, (int)client.Region.Length - ClientRegionLayout.CountersOffset);
        int offset = random.Next(bytes.Length - 256);
        random.NextBytes(bytes.Slice(offset, 256));
        Volatile.Write(ref *(long*)(region + ClientRegionLayout.TxTailOffset), random.NextInt64(long.MinValue, long.MaxValue));
        DoorbellNow(region);
    }

    /// <summary>Records framed correctly whose fields are anything: flags, reserved, ids, due times, oversized lengths.</summary>
    private static void WellFramedNonsense(ref ClientTxWriter writer, Random random)
    {
        Span<byte> payload = stackalloc byte[random.Next(0, 1500)];
        long due = random.Next(4) switch
        {
            0 => -random.NextInt64(),
            1 => 0,
            2 => Libc.MonotonicNow() + random.NextInt64(100 * Ms),
            _ => long.MaxValue - random.Next(1000),
        };
        long id = random.Next(3) == 0 ? -1 : random.NextInt64(0, long.MaxValue);
        int flags = random.Next(3) == 0 ? random.Next() : random.Next(2);
        if (writer.TryWrite(payload, due, id, flags))
        {
            writer.Publish();
        }
        else
        {
            Thread.Yield();
        }
    }

    /// <summary>A valid record published, then its length and kind rewritten while the engine may be reading it.</summary>
    private static void RacingLengths(ShmTestClient client, Random random)
    {
        byte* region = client.Region.Pointer;
        byte* ring = region + ClientRegionLayout.TxRingOffset;
        long tail = Volatile.Read(ref *(long*)(region + ClientRegionLayout.TxTailOffset));
        int index = (int)(tail & (client.Region.TxCapacity - 1));
        if (client.Region.TxCapacity - index < 256)
        {
            index = 0;
            tail += client.Region.TxCapacity - (int)(tail & (client.Region.TxCapacity - 1));
        }
        *(int*)(ring + index) = ClientRecordKind.Packet;
        *(int*)(ring + index + 4) = 16;
        *(long*)(ring + index + 8) = Libc.MonotonicNow() + Ms;
        *(long*)(ring + index + 16) = 1;
        *(long*)(ring + index + 24) = 0;
        Volatile.Write(ref *(long*)(region + ClientRegionLayout.TxTailOffset), tail + 48);
        for (int i = 0; i < 50; i++)
        {
            *(int*)(ring + index + 4) = random.Next(3) == 0 ? random.Next() : random.Next(-64, 64);
            *(int*)(ring + index) = random.Next(4);
        }
        DoorbellNow(region);
    }

    /// <summary>Tails that are just wrong: behind the head, a byte off alignment, a lap ahead, the extremes.</summary>
    private static void AdversarialTails(ShmTestClient client, Random random)
    {
        byte* region = client.Region.Pointer;
        long head = Volatile.Read(ref *(long*)(region + ClientRegionLayout.TxHeadOffset));
        long tail = random.Next(6) switch
        {
            0 => head - 8,
            1 => head + 3,
            2 => head + client.Region.TxCapacity + 8,
            3 => long.MaxValue,
            4 => long.MinValue,
            _ => head + 8,
        };
        Volatile.Write(ref *(long*)(region + ClientRegionLayout.TxTailOffset), tail);
        DoorbellNow(region);
        Thread.Yield();
    }

    /// <summary>Rings the doorbell whether or not the agent sleeps (a client may, to annoy it).</summary>
    private static void DoorbellNow(byte* region)
    {
        int* doorbell = (int*)(region + ClientRegionLayout.TxDoorbellOffset);
        Interlocked.Increment(ref *doorbell);
        _ = Libc.futex_wake(doorbell, 1);
    }

    private static long Percentile(long[] values, double p)
    {
        long[] sorted = [.. values.Order()];
        return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }
}
