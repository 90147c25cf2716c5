using System.Globalization;
using System.Net.Sockets;
using RtUdp.Core.Contract.Clients;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;
using ClientExitPolicy = RtUdp.V1.ClientExitPolicy;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// librtudp from C through the real rtudpd and its engine: programs of tests/c compiled with gcc against rtudp.h
/// (through rtudp.pc) and linked to the published library send and receive over shared-memory rings, die mid-burst,
/// and meet every refusal. Channels are created over gRPC, as an operator would.
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LibrtudpDaemonTests(DaemonFixture daemon)
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);
    private readonly Clients _api = new(daemon.Unix);

    /// <summary>The broker's socket: rtudp-shm.sock beside the gRPC unix socket (Listen:ShmSocket's default).</summary>
    private string Broker => Path.Combine(daemon.Root, ShmAbi.SocketFileName);

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    public async Task A_c_sender_and_a_c_receiver_exchange_every_packet_on_time(int batch)
    {
        const int Count = 200;
        const int Size = 100;
        const long PeriodNs = 1_000_000;
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("c-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("c-tx"), rx.BoundLocal);

        using CProgram receiver = CProgram.Start(Librtudp.Program("rtudp_recv"), [Broker, rx.Name, Count.ToString(CultureInfo.InvariantCulture), "5000000000"]);
        await receiver.WaitForLineAsync(l => l == "ready", RunTimeout, "the receiver attached");

        string[] sendArgs = [Broker, tx.Name, $"{Count}", $"{Size}", $"{PeriodNs}", "50000000", .. batch > 0 ? new[] { "batch", $"{batch}" } : []];
        ProcessResult sender = await ProcessRunner.RunAsync(Librtudp.Program("rtudp_send"), sendArgs, RunTimeout);
        Assert.True(sender.ExitCode == 0, sender.ToString());
        string[] sent = CLines.Lines(sender.Stdout);
        long baseNs = long.Parse(CLines.Words(sent, "base_ns")[0], CultureInfo.InvariantCulture);
        Dictionary<string, long> senderStats = CLines.Values(sent, "stats");
        Assert.True(senderStats["tx_accepted"] == Count && senderStats["tx_malformed"] == 0, sender.ToString());
        Assert.Equal((long)ClientState.Attached, senderStats["state"]);
        Assert.Equal(2048, senderStats["max_payload"]); // the channel's (Clients.CreateSenderAsync)
        Assert.Contains("detach 0", sent);

        Assert.Equal(0, await receiver.WaitForExitAsync(RunTimeout));
        string[] received = receiver.Lines.Where(l => l.StartsWith("rx ", StringComparison.Ordinal)).ToArray();
        Assert.True(received.Length == Count, receiver.Transcript);
        var seen = new HashSet<int>();
        var lateness = new List<long>();
        long lastSequence = long.MinValue;
        foreach (string line in received)
        {
            // rx LENGTH SEQUENCE BEST WORKER KERNEL_RT SOURCE FAMILY PORT ADDR FLAGS TEXT...
            string[] f = line.Split(' ');
            Assert.Equal(Size, int.Parse(f[1], CultureInfo.InvariantCulture));
            long sequence = long.Parse(f[2], CultureInfo.InvariantCulture);
            Assert.True(sequence > lastSequence, $"sequence {sequence} after {lastSequence}");
            lastSequence = sequence;
            Assert.Equal(AddressFamily.InterNetwork, (AddressFamily)int.Parse(f[7], CultureInfo.InvariantCulture));
            Assert.Equal((int)tx.BoundLocal.Port, int.Parse(f[8], CultureInfo.InvariantCulture));
            Assert.Equal("00000000000000000000ffff7f000001", f[9]); // ::ffff:127.0.0.1
            Assert.Equal("pkt", f[11]);
            int index = int.Parse(f[12], CultureInfo.InvariantCulture);
            Assert.True(seen.Add(index), $"packet {index} twice");
            Assert.InRange(int.Parse(f[6], CultureInfo.InvariantCulture), 1, 3); // a stamp: worker, software or hardware
            long best = long.Parse(f[3], CultureInfo.InvariantCulture);
            lateness.Add(best - (baseNs + index * PeriodNs));
        }
        Assert.Equal(Enumerable.Range(0, Count), seen.Order());
        // Never before their time (the stamp is the arrival, the conversion from CLOCK_REALTIME adds a few us), and
        // on time: the worker is SCHED_OTHER on a shared machine, so a few ms late at worst, most within 1 ms.
        lateness.Sort();
        Assert.True(lateness[0] >= -100_000, $"a packet arrived {-lateness[0]} ns before its time");
        Assert.True(lateness[Count / 2] <= 1_000_000, $"median lateness {lateness[Count / 2]} ns");
        Assert.True(lateness[^1] <= 50_000_000, $"worst lateness {lateness[^1]} ns");
        Dictionary<string, long> receiverStats = CLines.Values(receiver.Lines, "stats");
        Assert.Equal(Count, receiverStats["rx_delivered"]);
        Assert.Equal(0, receiverStats["rx_ring_used_bytes"]);

        // The daemon's view: every packet came from a client ring and was sent; the receiver's went to its ring.
        V1.ChannelStats txStats = await _api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Count);
        Assert.Equal(Count, txStats.Counters["client_accepted"]);
        Assert.Equal(Count, txStats.Tx.Enqueued);
        V1.ChannelStats rxStats = await _api.WaitStatsAsync(rx.Name, s => s.Counters["client_rx_delivered"] == Count);
        Assert.Equal(Count, rxStats.Rx.Received);
        await _api.WaitStatsAsync(tx.Name, s => s.Counters["clients_attached"] == 0);
        await _api.DeleteAsync(tx, rx);
    }

    [Theory]
    [InlineData(ClientExitPolicy.Drain)]
    [InlineData(ClientExitPolicy.Drop)]
    public async Task A_client_killed_mid_burst_is_detached_and_every_packet_it_published_is_counted(ClientExitPolicy policy)
    {
        const int Count = 3000;
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("kill-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("kill-tx"), rx.BoundLocal, configure: c => c.ClientExit = policy);

        // 3000 packets due over 300 ms from 20 ms on, published as fast as the ring takes them; then SIGKILL.
        ProcessResult killed = await ProcessRunner.RunAsync(Librtudp.Program("rtudp_send"),
            [Broker, tx.Name, $"{Count}", "64", "100000", "20000000", "batch", "64", "kill"], RunTimeout);
        Assert.True(killed.ExitCode == 128 + 9, $"expected death by SIGKILL:\n{killed}");
        Assert.Contains($"published {Count} again", killed.Stdout, StringComparison.Ordinal);

        // The daemon saw the connection close and detached it; what the ring held went by the policy. Nothing vanished:
        // every published record was accepted (so enqueued, then sent) or dropped at detach.
        V1.ChannelStats stats = await _api.WaitStatsAsync(tx.Name,
            s => s.Counters["clients_attached"] == 0 && s.Counters["client_accepted"] + s.Counters["client_dropped_detach"] == Count && s.Tx.Pending == 0,
            TimeSpan.FromSeconds(15));
        long accepted = stats.Counters["client_accepted"];
        Assert.Equal(0, stats.Counters["client_malformed"]);
        Assert.Equal(accepted, stats.Tx.Enqueued);
        Assert.Equal(accepted, stats.Tx.Sent + stats.Tx.DroppedLate + stats.Tx.DroppedError + stats.Tx.DroppedStopped);
        Assert.True(stats.Tx.Balanced, stats.ToString());
        if (policy == ClientExitPolicy.Drain)
        {
            Assert.Equal(Count, accepted);
            Assert.Equal(0, stats.Counters["client_dropped_detach"]);
        }
        V1.ChannelStats received = await _api.WaitStatsAsync(rx.Name, s => s.Rx.Received >= stats.Tx.Sent);
        Assert.Equal(stats.Tx.Sent, received.Rx.Received + received.Rx.DroppedKernel);
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Refusals_come_back_as_their_codes_with_a_message()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("err-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("err-tx"), rx.BoundLocal);
        string unknown = Clients.UniqueId("no-such-channel");
        // A daemon that is not running: its socket file left behind, nobody listening (ECONNREFUSED).
        using var stale = new TemporarySocket();

        ProcessResult run = await ProcessRunner.RunAsync(Librtudp.Program("rtudp_errors"), [Broker, tx.Name, unknown, stale.Path], RunTimeout);
        Assert.True(run.ExitCode == 0, run.ToString());
        string[] lines = CLines.Lines(run.Stdout);

        void Expect(string what, ShmStatus status, params string[] inMessage)
        {
            string[] words = CLines.Words(lines, what);
            Assert.True(int.Parse(words[0], CultureInfo.InvariantCulture) == (int)status, $"{what}: {string.Join(' ', words)} (expected {ShmStatusNames.Name(status)})\n{run}");
            string message = string.Join(' ', words.Skip(1));
            foreach (string part in inMessage)
            {
                Assert.Contains(part, message, StringComparison.Ordinal);
            }
        }

        Expect("connect_missing", ShmStatus.Connect, stale.Path, "ECONNREFUSED");
        Assert.Contains("connect_missing_out null", lines);
        Expect("connect_null_out", ShmStatus.Invalid, "out");
        Expect("attach_unknown", ShmStatus.NotFound, unknown);
        Assert.Contains("attach_unknown_out null", lines);
        Expect("attach_bad_flags", ShmStatus.Invalid, "flags");
        Expect("send_too_large", ShmStatus.TooLarge, "2049", "2048");
        Expect("send_max", ShmStatus.Ok);
        Expect("send_bad_flags", ShmStatus.Invalid, "flags");
        Expect("send_null_data", ShmStatus.Invalid, "NULL");
        Expect("batch_too_large", ShmStatus.TooLarge, "2049");
        Assert.Equal("1", CLines.Words(lines, "batch_second_too_large")[0]); // the first packet taken, then the refusal
        Expect("batch_null", ShmStatus.Invalid, "NULL");
        Expect("batch_empty", ShmStatus.Ok);
        Expect("receive_on_sender", ShmStatus.Invalid, "receive");
        Expect("send_null_channel", ShmStatus.Invalid, "NULL");
        Expect("stats_null", ShmStatus.Invalid, "NULL");
        Expect("attach_null_client", ShmStatus.Invalid, "NULL");
        Expect("detach", ShmStatus.Ok);

        // The two packets that were taken (send_max, the batch's first) were sent; nothing refused reached the engine.
        V1.ChannelStats stats = await _api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == 2 && s.Counters["clients_attached"] == 0);
        Assert.Equal(2, stats.Counters["client_accepted"]);
        Assert.Equal(0, stats.Counters["client_malformed"]);
        await _api.DeleteAsync(tx, rx);
    }

    /// <summary>A unix SOCK_SEQPACKET socket file nobody listens on (bound, then closed): what a dead daemon leaves.</summary>
    private sealed class TemporarySocket : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("rtudp-stale-").FullName;

        public TemporarySocket()
        {
            Path = System.IO.Path.Combine(_directory, "rtudp-shm.sock");
            // .NET unlinks a unix socket's file when it closes the socket; Python leaves it, as a killed daemon does.
            ProcessResult bind = ProcessRunner.Run(Tool.Require("python3", "python3"),
                ["-c", "import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); s.close()", Path],
                TimeSpan.FromSeconds(30));
            Assert.True(bind.ExitCode == 0 && File.Exists(Path), $"could not leave a socket file at {Path}:\n{bind}");
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
