using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using RtUdp.Core.ShmClient;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Daemon.Tests.Reliability;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Shm;

/// <summary>
/// Same-host clients end to end against a real rtudpd and engine (docs/shm-clients.md): packets written through
/// <see cref="ShmAttachment"/> leave on the wire, packets received arrive with their stamps and source, gRPC
/// receiving steps aside while a client receives, and the counts balance.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ShmClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Packets_sent_through_a_client_ring_reach_the_UDP_socket_and_are_counted()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sink.ReceiveTimeout = (int)Timeout.TotalMilliseconds;
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("shm-tx"), Remote(sink));

        using ShmClient client = ShmClient.Connect(ShmSocket(daemon));
        ShmAttachment attachment = client.Attach(tx.Name, ShmAbi.AttachSend);
        Assert.Equal(tx.EngineId, attachment.ChannelId);
        Assert.Equal(2048u, attachment.MaxPayload);
        Assert.Equal(ClientState.Attached, attachment.State);

        const int Count = 200;
        long due = Libc.MonotonicNow() + 5_000_000;
        for (int i = 0; i < Count; i++)
        {
            byte[] payload = Encoding.ASCII.GetBytes($"shm {i}");
            // Half at a time 5 ms ahead, half at once.
            uint flags = i % 2 == 0 ? 0 : ShmAbi.SendImmediate;
            SendOrWait(attachment, payload, due + i * 10_000L, i + 1, flags);
        }
        var received = new HashSet<string>(StringComparer.Ordinal);
        byte[] buffer = new byte[4096];
        while (received.Count < Count)
        {
            int n = sink.Receive(buffer);
            received.Add(Encoding.ASCII.GetString(buffer, 0, n));
        }
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"shm {i}").ToHashSet(StringComparer.Ordinal), received);

        // Too large, bad flags, a time that is no time: refused by the client library, nothing written.
        Assert.Equal(ShmStatus.TooLarge, attachment.TrySend(new byte[4000], due, 0, 0));
        Assert.Equal(ShmStatus.Invalid, attachment.TrySend([1], due, 0, 4));
        Assert.Contains("flags", attachment.LastMessage, StringComparison.Ordinal);
        Assert.Equal(ShmStatus.Invalid, attachment.TrySend([1], 0, 0, 0));

        Wait.Until(() => attachment.ReadStats().TxAccepted == Count, Timeout, () => $"client stats: {Describe(attachment.ReadStats())}");
        ShmStats stats = attachment.ReadStats();
        Assert.Equal(0ul, stats.TxMalformed);
        Assert.Equal(0ul, stats.TxRingUsedBytes);
        Assert.Equal((uint)ClientState.Attached, stats.State);
        V1.ChannelStats channel = await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Count, Timeout);
        Assert.Equal(Count, channel.Counters["client_accepted"]);
        Assert.Equal(1, channel.Counters["clients_attached"]);
        Assert.Equal(0, channel.Counters["client_malformed"]);

        Assert.Equal(ShmStatus.Ok, attachment.Detach());
        Assert.Contains("0 dropped", attachment.LastMessage, StringComparison.Ordinal);
        Assert.Equal(ShmStatus.Detached, attachment.TrySend([1], 0, 0, ShmAbi.SendImmediate));
        Assert.Contains($"Same-host client {attachment.ClientId} (pid {Environment.ProcessId}", daemon.Log, StringComparison.Ordinal);
        await api.WaitStatsAsync(tx.Name, s => s.Counters["clients_attached"] == 0, Timeout);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name);
    }

    [Fact]
    public async Task A_receiving_client_gets_every_packet_with_stamps_and_source_while_gRPC_receive_is_refused_naming_it()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("shm-rx"));
        using var source = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        source.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var target = new IPEndPoint(IPAddress.Loopback, (int)rx.BoundLocal.Port);

        using ShmClient client = ShmClient.Connect(ShmSocket(daemon));
        ShmAttachment attachment = client.Attach(rx.Name.Replace("channels/", "", StringComparison.Ordinal), 0); // 0: the channel's direction
        Assert.True(attachment.Receives);
        Assert.False(attachment.Sends);

        // gRPC receiving steps aside, naming the client.
        Google.Rpc.Status refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name }).ResponseAsync);
        Assert.Contains($"pid {Environment.ProcessId}, uid {Tmds.Linux.LibC.geteuid()}", refused.Message, StringComparison.Ordinal);
        // A second receiver is refused.
        using (ShmClient other = ShmClient.Connect(ShmSocket(daemon)))
        {
            ShmException second = Assert.Throws<ShmException>(() => other.Attach(rx.Name, ShmAbi.AttachReceive));
            Assert.Equal(ShmStatus.Precondition, second.Status);
        }

        byte[] buffer = new byte[4096];
        Assert.Equal((int)ShmStatus.Timeout, attachment.Receive(buffer, 0, out _));
        long before = Libc.MonotonicNow();
        const int Count = 20;
        for (int i = 0; i < Count; i++)
        {
            source.SendTo(Encoding.ASCII.GetBytes($"rx {i}"), target);
        }
        for (int i = 0; i < Count; i++)
        {
            int n = attachment.Receive(buffer, 5_000_000_000, out RxRecordInfo info);
            Assert.True(n >= 0, $"receive {i}: {(ShmStatus)n} {attachment.LastMessage}");
            Assert.Equal($"rx {i}", Encoding.ASCII.GetString(buffer, 0, n));
            Assert.Equal(n, info.Length);
            Assert.InRange(info.BestMonotonicNs, before, Libc.MonotonicNow());
            Assert.InRange(info.StampSource, 1, 3);
            Assert.Equal(((IPEndPoint)source.LocalEndPoint!).Port, info.SourcePort);
            Assert.Equal(2, info.SourceFamily); // AF_INET, as IPv4-mapped IPv6
            unsafe
            {
                Assert.Equal(0xff, info.SourceAddress[10]);
                Assert.Equal(127, info.SourceAddress[12]);
            }
        }
        // A buffer too small: the packet stays for a larger one.
        source.SendTo(new byte[100], target);
        Assert.Equal((int)ShmStatus.Buffer, attachment.Receive(new byte[10], 5_000_000_000, out RxRecordInfo big));
        Assert.Equal(100, big.Length);
        Assert.Equal(100, attachment.Receive(buffer, 0, out _));

        V1.ChannelStats stats = await api.WaitStatsAsync(rx.Name, s => s.Counters["client_rx_delivered"] == Count + 1, Timeout);
        Assert.Equal(Count + 1, stats.Rx.Drained);
        Assert.Equal(ShmStatus.Ok, attachment.Detach());

        // Detached: gRPC receives again.
        source.SendTo(Encoding.ASCII.GetBytes("grpc again"), target);
        ReceiveResponse again = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)) });
        Assert.Equal("grpc again", Assert.Single(again.Packets).Payload.ToStringUtf8());
        await DaemonAccounting.DeleteBalancedAsync(api, rx.Name);
    }

    [Fact]
    public async Task Deleting_the_channel_ends_its_clients_with_the_reason()
    {
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("shm-del"));
        using ShmClient client = ShmClient.Connect(ShmSocket(daemon));
        ShmAttachment attachment = client.Attach(rx.Name, ShmAbi.AttachReceive);
        byte[] buffer = new byte[4096];
        Task<int> waiting = Task.Run(() => attachment.Receive(buffer, -1, out _));
        await api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = rx.Name });
        Assert.Equal((int)ShmStatus.Detached, await waiting.WaitAsync(Timeout));
        Assert.Contains("channel deleted", attachment.LastMessage, StringComparison.Ordinal);
        Assert.Equal(ShmStatus.Detached, attachment.Detach());
    }

    internal static void SendOrWait(ShmAttachment attachment, byte[] payload, long due, long packetId, uint flags)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        ShmStatus status;
        while ((status = attachment.TrySend(payload, due, packetId, flags)) == ShmStatus.Again)
        {
            Assert.True(clock.Elapsed < Timeout, "the client's TX ring stayed full");
            Thread.Yield();
        }
        Assert.True(status == ShmStatus.Ok, $"{status}: {attachment.LastMessage}");
    }

    internal static string ShmSocket(OwnedDaemon daemon) => Path.Combine(daemon.Fixture.Root, ShmAbi.SocketFileName);

    internal static Endpoint Remote(Socket sink) => new() { Address = "127.0.0.1", Port = (uint)((IPEndPoint)sink.LocalEndPoint!).Port };

    internal static string Describe(ShmStats s) =>
        $"state {s.State}, accepted {s.TxAccepted}, malformed {s.TxMalformed}, throttled {s.TxThrottled}, dropped {s.TxDroppedDetach}, rx {s.RxDelivered}, faults {s.Faults}, tx used {s.TxRingUsedBytes}";
}
