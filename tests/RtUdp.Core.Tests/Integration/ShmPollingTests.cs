using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Engine.Clients;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Integration;

/// <summary>An engine whose client intake polls, as it does on a kernel without futex_waitv (before 5.16).</summary>
public sealed class PollingIntakeEngine : IDisposable
{
    public EngineFixture Engine { get; } = EngineFixture.StartWith("--client-intake-polling");

    public void Dispose() => Engine.Dispose();
}

/// <summary>
/// Same-host clients through an engine whose intake polls (docs/shm-clients.md, "Sleeping"): packets still reach
/// the wire at their times, an immediate packet waits at most about one poll interval for the engine, and received
/// packets still wake the client. Timing-sensitive: run alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ShmPollingTests(PollingIntakeEngine engine) : IClassFixture<PollingIntakeEngine>
{
    private const long Ms = 1_000_000;

    private EngineFixture Fixture => engine.Engine;

    [Fact]
    public void Kernels_from_5_16_have_futex_waitv_and_the_engine_says_how_its_intake_sleeps()
    {
        string[] release = File.ReadAllText("/proc/sys/kernel/osrelease").Split('.', '-');
        bool from516 = int.Parse(release[0], System.Globalization.CultureInfo.InvariantCulture) is int major
            && (major > 5 || (major == 5 && int.Parse(release[1], System.Globalization.CultureInfo.InvariantCulture) >= 16));
        Assert.Equal(from516, Libc.FutexWaitvAvailable);
        Assert.Equal(from516, RtUdp.Core.Capabilities.HostProbe.Read().FutexWaitv);
        Wait.Until(() => Fixture.Log.Contains("same-host client intake: polling every 100 us while clients are attached (no futex_waitv) (asked for)", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), () => Fixture.Log);
    }

    [Fact]
    public void Packets_reach_the_wire_at_their_times_and_immediate_ones_wait_about_one_poll_interval()
    {
        using ChannelHandle rx = Fixture.Client.CreateChannel(TestChannels.Receiver(Fixture.NextId(), "poll-rx"));
        using ChannelHandle tx = Fixture.Client.CreateChannel(TestChannels.Sender(Fixture.NextId(), "poll-tx", rx.BoundLocal));
        Assert.Equal(ChannelState.Running, Fixture.Client.StartChannel(rx.Id));
        Assert.Equal(ChannelState.Running, Fixture.Client.StartChannel(tx.Id));
        byte[] buffer = new byte[rx.Config.MaxPayload];
        using (var client = new ShmTestClient(Fixture.Client, tx, ClientRegionFlags.Send))
        {
            // Timed: 20 packets 2 ms apart, written at once.
            long start = Libc.MonotonicNow() + (30 * Ms);
            for (int i = 0; i < 20; i++)
            {
                Assert.True(client.Tx.TryWrite(BitConverter.GetBytes((long)i), start + (i * 2 * Ms), packetId: i + 1, flags: 0));
            }
            client.Tx.Publish();
            for (int i = 0; i < 20; i++)
            {
                ReceivedPacket packet = rx.Receive(buffer, 5000 * Ms) ?? throw new Xunit.Sdk.XunitException($"packet {i} did not arrive\n{Accounting.Describe(tx.ReadStats())}");
                long due = start + (BitConverter.ToInt64(buffer, 0) * 2 * Ms);
                Assert.InRange(packet.BestMonotonicNs - due, -1 * Ms, 20 * Ms);
            }

            // Immediate, one at a time with the agent idle in between: each is taken within a poll interval plus
            // this machine's scheduling, not after the agent's 100 ms idle bound.
            var waits = new List<long>();
            for (int i = 0; i < 50; i++)
            {
                Thread.Sleep(2);
                long written = Libc.MonotonicNow();
                Assert.True(client.Tx.TryWrite(BitConverter.GetBytes((long)i), 0, packetId: 100 + i, flags: ClientTxFlags.Immediate));
                client.Tx.Publish();
                ReceivedPacket packet = rx.Receive(buffer, 5000 * Ms) ?? throw new Xunit.Sdk.XunitException($"immediate packet {i} did not arrive");
                waits.Add(packet.BestMonotonicNs - written);
            }
            waits.Sort();
            long median = waits[waits.Count / 2];
            Assert.True(median < ClientIntakeAgent.PollIntervalNs + (2 * Ms), $"median write-to-arrival {median / 1e3:0} us");
            Assert.True(median > 0);
            Accounting.WaitFinished(tx, 70);
            Assert.Equal(70, tx.ReadStats()[ChannelCounter.ClientAccepted]);
        }
        Fixture.Client.DeleteChannel(tx.Id);
        Fixture.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void Received_packets_reach_a_sleeping_client()
    {
        using ChannelHandle rx = Fixture.Client.CreateChannel(TestChannels.Receiver(Fixture.NextId(), "poll-recv"));
        Assert.Equal(ChannelState.Running, Fixture.Client.StartChannel(rx.Id));
        using (var client = new ShmTestClient(Fixture.Client, rx, ClientRegionFlags.Receive))
        using (var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            byte[] buffer = new byte[rx.Config.MaxPayload];
            for (int i = 0; i < 20; i++)
            {
                sender.SendTo(BitConverter.GetBytes((long)i), rx.BoundLocal);
                long deadline = Libc.MonotonicNow() + (5000 * Ms);
                while (true)
                {
                    int ticket = client.Rx.PrepareWait();
                    if (client.Rx.TryRead(buffer, out RxRecordInfo _, out int _))
                    {
                        client.Rx.CancelWait();
                        break;
                    }
                    Assert.True(Libc.MonotonicNow() < deadline, $"packet {i} not in the client's ring\n{Accounting.Describe(rx.ReadStats())}");
                    client.Rx.Wait(ticket, deadline);
                }
                Assert.Equal(i, BitConverter.ToInt64(buffer, 0));
            }
            Accounting.WaitReceiverIdle(rx);
            Assert.Equal(20, rx.ReadStats()[ChannelCounter.ClientRxDelivered]);
        }
        Fixture.Client.DeleteChannel(rx.Id);
    }
}
