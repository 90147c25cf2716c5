using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Net;
using RtUdp.Core.ShmClient;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Shm;

/// <summary>
/// What becomes of a same-host client's packets when it dies (client_exit drain or drop) and when the engine
/// dies under it (the daemon reattaches its region to the next engine): every packet arrives or is counted.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ShmLifetimeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_client_that_dies_with_packets_in_its_ring_has_them_drained_or_dropped_by_client_exit_and_counted()
    {
        // The engine takes the ring slowly, so most of it is there when the client dies, and a drain at the client's
        // rate (0.6 s) fits in the detach's 2 s.
        await using OwnedDaemon daemon = await StartRateLimitedAsync();
        Clients api = daemon.Unix;
        using Socket drainSink = Sink();
        using Socket dropSink = Sink();
        (Channel drain, Channel drop) = await DrainAndDropChannelsAsync(api, "shm", drainSink, dropSink);
        Assert.Equal(V1.ClientExitPolicy.Drain, drain.ClientExit);
        Assert.Equal(V1.ClientExitPolicy.Drop, drop.ClientExit);

        const int Count = 60;
        DieWithPackets(ShmClientTests.ShmSocket(daemon), drain.Name, Count);
        DieWithPackets(ShmClientTests.ShmSocket(daemon), drop.Name, Count);

        // Drain: every packet leaves (at the client's rate: its limits hold after it is gone), none dropped.
        V1.ChannelStats drained = await api.WaitStatsAsync(drain.Name, s => s.Counters["clients_attached"] == 0 && s.Tx.Sent == Count, Timeout);
        Assert.Equal(Count, drained.Counters["client_accepted"]);
        Assert.Equal(0, drained.Counters["client_dropped_detach"]);
        Assert.Equal(Count, Received(drainSink, Count));
        Assert.Matches(DetachedLine(drain.Name, "drain"), daemon.Log);

        // Drop: what the engine had taken leaves, the rest is counted dropped; together all of it.
        V1.ChannelStats dropped = await api.WaitStatsAsync(drop.Name, s => s.Counters["clients_attached"] == 0, Timeout);
        long accepted = dropped.Counters["client_accepted"], lost = dropped.Counters["client_dropped_detach"];
        Assert.Equal(Count, accepted + lost + dropped.Counters["client_malformed"]);
        Assert.True(lost > Count / 2, $"only {lost} of {Count} dropped: the rate limit should have kept most in the ring\n{dropped}\n{daemon.Log}");
        await api.WaitStatsAsync(drop.Name, s => s.Tx.Sent == accepted, Timeout);
        Assert.Equal(accepted, Received(dropSink, (int)accepted));
        Match line = DetachedLine(drop.Name, "drop").Match(daemon.Log);
        Assert.True(line.Success, daemon.Log);
        Assert.Equal(lost, long.Parse(line.Groups["dropped"].Value, CultureInfo.InvariantCulture));
        await Reliability.DaemonAccounting.DeleteBalancedAsync(api, drain.Name, drop.Name);
    }

    [Fact]
    public async Task A_client_sending_through_an_engine_SIGKILL_is_reattached_and_every_packet_arrives_or_is_counted_lost()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        using Socket sink = Sink();
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("shm-restart"), ShmClientTests.Remote(sink));
        using ShmClient client = ShmClient.Connect(ShmClientTests.ShmSocket(daemon));
        ShmAttachment attachment = client.Attach(tx.Name, ShmAbi.AttachSend);

        var received = new HashSet<int>();
        int duplicates = 0;
        using var stop = new CancellationTokenSource();
        var receiver = new Thread(() =>
        {
            byte[] buffer = new byte[64];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    int n = sink.Receive(buffer);
                    lock (received)
                    {
                        duplicates += received.Add(BitConverter.ToInt32(buffer, 0)) ? 0 : 1;
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
                {
                    // Nothing for a while: look at the stop flag.
                }
            }
        }) { IsBackground = true };
        receiver.Start();
        int written = 0;
        var sender = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // About 1000 packets/s, each written once whatever happens to the engine (AGAIN: wait and retry).
                ShmClientTests.SendOrWait(attachment, BitConverter.GetBytes(written), 0, written + 1, ShmAbi.SendImmediate);
                Volatile.Write(ref written, written + 1);
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        sender.Start();

        Wait.Until(() => Count(received) >= 200, Timeout, "200 packets before the kill");
        int pid = daemon.Fixture.EnginePid;
        Assert.Equal(0, Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL));
        Assert.NotEqual(pid, await daemon.Fixture.WaitForEngineAsync(Timeout, restarts: 1));
        Wait.Until(() => attachment.ReadStats().EngineEpoch == 1, Timeout, () => $"the reattach: {ShmClientTests.Describe(attachment.ReadStats())}\n{daemon.Log}");
        int mark = Volatile.Read(ref written);
        Wait.Until(() => Max(received) > mark + 200, Timeout, () => $"packets written after the reattach (from {mark}) arriving; max {Max(received)}\n{daemon.Log}");
        await stop.CancelAsync();
        sender.Join();

        int total = Volatile.Read(ref written);
        Wait.Until(() => attachment.ReadStats().TxRingUsedBytes == 0, Timeout, "the ring taken");
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Pending == 0, Timeout);
        ShmStats stats = attachment.ReadStats();
        Assert.Equal((uint)ClientState.Attached, stats.State);
        Assert.Equal((ulong)total, stats.TxAccepted + stats.TxMalformed);
        Assert.Equal(0ul, stats.TxMalformed);
        receiver.Join();

        // What the dead engine had taken and not sent is counted by the engine-loss accounting; the rest arrived.
        Match lost = LostLine(tx.EngineId).Match(daemon.Log);
        Assert.True(lost.Success, daemon.Log);
        long queuedLost = long.Parse(lost.Groups["queued"].Value, CultureInfo.InvariantCulture);
        // Killed inside a send call, the engine may have sent packets it never counted: those arrived and are counted lost
        // too, up to the bound the log gives (the gauge of the call). Nothing else may be off.
        long inSendCall = lost.Groups["inSendCall"].Success ? long.Parse(lost.Groups["inSendCall"].Value, CultureInfo.InvariantCulture) : 0;
        Assert.Equal(0, duplicates);
        Assert.InRange(Count(received) + queuedLost - total, 0, inSendCall);
        Assert.Contains("reattached to " + tx.Name + " in the new engine (epoch 1)", daemon.Log, StringComparison.Ordinal);
        Assert.Equal(ShmStatus.Ok, attachment.Detach());
        await Reliability.DaemonAccounting.DeleteBalancedAsync(api, tx.Name);
    }

    [Fact]
    public async Task Rtudpd_stopping_with_clients_attached_detaches_them_by_client_exit_and_accounts_every_packet()
    {
        // Most of each ring is still there at SIGTERM; a drain at the client's rate (0.6 s) fits in 2 s.
        await using OwnedDaemon daemon = await StartRateLimitedAsync();
        Clients api = daemon.Unix;
        using Socket drainSink = Sink();
        using Socket dropSink = Sink();
        (Channel drain, Channel drop) = await DrainAndDropChannelsAsync(api, "stop", drainSink, dropSink);
        using ShmClient client = ShmClient.Connect(ShmClientTests.ShmSocket(daemon));
        ShmAttachment draining = client.Attach(drain.Name, ShmAbi.AttachSend);
        ShmAttachment dropping = client.Attach(drop.Name, ShmAbi.AttachSend);
        const int Count = 60;
        foreach (ShmAttachment attachment in new[] { draining, dropping })
        {
            for (int i = 0; i < Count; i++)
            {
                Assert.Equal(ShmStatus.Ok, attachment.TryWrite(BitConverter.GetBytes(i), 0, i + 1, ShmAbi.SendImmediate));
            }
            attachment.Publish();
        }
        Wait.Until(() => draining.ReadStats().TxThrottled >= 1 && dropping.ReadStats().TxThrottled >= 1, Timeout, "both rings held back by the rate");

        Hosting.HostedDaemon process = daemon.Fixture.Process;
        Hosting.HostedDaemon.Signal(process.Pid, Tmds.Linux.LibC.SIGTERM);
        Assert.Equal(0, process.WaitForExit(Timeout));

        // Drain: every packet leaves before the engine stops; drop: what was taken leaves, the rest is counted.
        Match drained = StoppedLine(drain.Name, "drain").Match(process.Output);
        Match dropped = StoppedLine(drop.Name, "drop").Match(process.Output);
        Assert.True(drained.Success && dropped.Success, process.Output);
        Assert.Equal("0", drained.Groups["dropped"].Value);
        Assert.Equal(Count, Received(drainSink, Count));
        long dropLost = long.Parse(dropped.Groups["dropped"].Value, CultureInfo.InvariantCulture);
        Assert.True(dropLost > Count / 2, $"only {dropLost} of {Count} dropped: the rate should have kept most in the ring\n{process.Output}");
        Assert.Equal(Count - dropLost, Received(dropSink, (int)(Count - dropLost)));

        // The client is told, with the counts.
        foreach (ShmAttachment attachment in new[] { draining, dropping })
        {
            Assert.Equal((uint)ClientState.Detached, attachment.ReadStats().State);
            Assert.Equal(ShmStatus.Detached, attachment.TrySend(BitConverter.GetBytes(-1), 0, 0, ShmAbi.SendImmediate));
        }
    }

    /// <summary>
    /// A client that exits while no engine runs (after its engine died, before the next one has its ring), or at the
    /// moment the engine dies: its ring goes to the next engine and is drained there by client_exit; every packet is
    /// sent, or counted lost with the dead engine.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_that_exits_while_its_engine_is_down_is_drained_by_the_next_one(bool waitForTheDaemonToSeeTheEngineDown)
    {
        await using OwnedDaemon daemon = await StartRateLimitedAsync();
        Clients api = daemon.Unix;
        using Socket sink = Sink();
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("exit-down"), ShmClientTests.Remote(sink));
        const int Count = 60;
        (int fd, ClientRegion region) = AttachBare(ShmClientTests.ShmSocket(daemon), tx.Name);
        using (region)
        {
            WriteImmediate(region, Count);
            Wait.Until(() => region.Counter(ClientCounter.TxThrottled) >= 1, Timeout, "the ring held back by the rate");

            int pid = daemon.Fixture.EnginePid;
            Assert.Equal(0, Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL));
            if (waitForTheDaemonToSeeTheEngineDown)
            {
                Wait.Until(() => region.State == ClientState.Reattaching, Timeout, () => $"state 4 (reattaching), state {region.State}\n{daemon.Log}");
            }
            UnixSeqPacket.Close(fd); // the client exits
            await daemon.Fixture.WaitForEngineAsync(Timeout, restarts: 1);
            Match line = DetachedLine(tx.Name, "drain").Match(await daemon.Fixture.WaitForLogAsync(DetachedLine(tx.Name, "drain"), Timeout, "the exited client's detach"));
            Assert.Equal("0", line.Groups["dropped"].Value);
            Match lost = LostLine(tx.EngineId).Match(daemon.Log);
            Assert.True(lost.Success, daemon.Log);
            long queuedLost = long.Parse(lost.Groups["queued"].Value, CultureInfo.InvariantCulture);
            long inSendCall = lost.Groups["inSendCall"].Success ? long.Parse(lost.Groups["inSendCall"].Value, CultureInfo.InvariantCulture) : 0;
            int received = Received(sink, Count - (int)queuedLost);
            // Taken by the dead engine and never sent: counted lost with it; the rest arrived. Killed inside a send
            // call, the engine may have sent packets it never counted, up to the bound its loss line gives.
            long extra = received + queuedLost - Count;
            Assert.True(extra >= 0 && extra <= inSendCall, $"received {received} + counted lost {queuedLost} - written {Count} = {extra}, outside [0, {inSendCall}]: {lost.Value}");
            Assert.Equal(ClientState.Detached, region.State);
        }
    }

    /// <summary>A bare client's attach: the connection and the mapped region.</summary>
    private static (int Fd, ClientRegion Region) AttachBare(string socket, string channel)
    {
        int fd = UnixSeqPacket.Connect(socket);
        byte[] request = new byte[ShmRequest.Size];
        ShmRequest.Attach(channel, ShmAbi.AttachSend, 0, 0).Encode(request);
        UnixSeqPacket.Send(fd, request, -1, socket);
        Assert.True(UnixSeqPacket.WaitReadable(fd, 30_000, socket));
        byte[] answer = new byte[ShmResponse.Size];
        Assert.Equal(ShmResponse.Size, UnixSeqPacket.Receive(fd, answer, out int memfd, socket));
        Assert.True(ShmResponse.TryDecode(answer, out ShmResponse response));
        Assert.True(response.StatusCode == ShmStatus.Ok, response.GetMessage());
        ClientRegion region = ClientRegion.Map(memfd);
        UnixSeqPacket.Close(memfd);
        return (fd, region);
    }

    /// <summary>A bare client: attaches, writes <paramref name="count"/> packets (IMMEDIATE) and publishes them, then closes the connection at once, as a killed process's does.</summary>
    private static void DieWithPackets(string socket, string channel, int count)
    {
        (int fd, ClientRegion region) = AttachBare(socket, channel);
        using (region)
        {
            try
            {
                WriteImmediate(region, count);
            }
            finally
            {
                UnixSeqPacket.Close(fd);
            }
        }
    }

    /// <summary>Writes <paramref name="count"/> packets (IMMEDIATE, payload and id from their index) and publishes them.</summary>
    private static void WriteImmediate(ClientRegion region, int count)
    {
        ClientTxWriter writer = region.TxWriter();
        for (int i = 0; i < count; i++)
        {
            Assert.True(writer.TryWrite(BitConverter.GetBytes(i), 0, i + 1, ClientTxFlags.Immediate));
        }
        writer.Publish();
    }

    /// <summary>Two senders, client_exit drain and drop, to <paramref name="drainSink"/> and <paramref name="dropSink"/>.</summary>
    private static async Task<(Channel Drain, Channel Drop)> DrainAndDropChannelsAsync(Clients api, string prefix, Socket drainSink, Socket dropSink) =>
        (await api.CreateSenderAsync(Clients.UniqueId(prefix + "-drain"), ShmClientTests.Remote(drainSink)),
         await api.CreateSenderAsync(Clients.UniqueId(prefix + "-drop"), ShmClientTests.Remote(dropSink), configure: c => c.ClientExit = V1.ClientExitPolicy.Drop));

    /// <summary>A daemon whose clients may send 100 packets/s with a burst of 1: a ring of 60 takes 0.6 s to send.</summary>
    private static Task<OwnedDaemon> StartRateLimitedAsync() => OwnedDaemon.StartAsync(new Dictionary<string, string>
    {
        ["Limits:PerClientPacketsPerSecond"] = "100",
        ["Limits:PerClientBurst"] = "1",
    });

    private static Socket Sink()
    {
        var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4 << 20, ReceiveTimeout = 200 };
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return sink;
    }

    /// <summary>Reads until <paramref name="expected"/> datagrams came, then 200 ms more for any extra; returns how many.</summary>
    private static int Received(Socket sink, int expected)
    {
        byte[] buffer = new byte[64];
        int count = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Timeout)
        {
            try
            {
                sink.Receive(buffer);
                count++;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                if (count >= expected)
                {
                    break;
                }
            }
        }
        return count;
    }

    private static int Count(HashSet<int> set)
    {
        lock (set)
        {
            return set.Count;
        }
    }

    private static int Max(HashSet<int> set)
    {
        lock (set)
        {
            return set.Count == 0 ? -1 : set.Max();
        }
    }

    private static Regex DetachedLine(string channel, string policy) =>
        new($@"detached from {Regex.Escape(channel)} \(connection closed: the client exited or was killed, client_exit {policy}\): (?<drained>\d+) sent on, (?<dropped>\d+) dropped");

    private static Regex StoppedLine(string channel, string policy) =>
        new($@"detached from {Regex.Escape(channel)} \(rtudpd stopped, client_exit {policy}\): (?<drained>\d+) sent on, (?<dropped>\d+) dropped");

    private static Regex LostLine(uint engineId) =>
        new($@"Channel {engineId} '[^']+' lost with engine \d+: (?<queued>\d+) queued packets never sent( \(up to (?<inSendCall>\d+) of them were in the send call)?");
}
