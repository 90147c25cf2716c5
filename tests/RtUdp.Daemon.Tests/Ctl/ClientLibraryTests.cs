using Grpc.Core;
using RtUdp.Client;
using RtUdp.Core.Native;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Ctl;

/// <summary>RtUdp.Client against the real daemon: typed errors, the engine clock's bound, streams, the default socket.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClientLibraryTests(DaemonFixture daemon)
{
    [Fact]
    public async Task Refused_calls_throw_RtUdpException_with_status_and_field_violations()
    {
        using RtUdpClient client = RtUdpClient.ConnectUnixSocket(daemon.SocketPath);
        RtUdpException invalid = await Assert.ThrowsAsync<RtUdpException>(() => client.CreateChannelAsync("ok-id", new Channel
        {
            Direction = ChannelDirection.Receive,
            Local = new Endpoint { Address = "127.0.0.1" },
            Capacity = 0,
        }));
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains(invalid.FieldViolations, v => v.Field == "channel.capacity" && v.Description.Length > 0);
        Assert.Contains("channel.capacity", invalid.Message, StringComparison.Ordinal);

        RtUdpException missing = await Assert.ThrowsAsync<RtUdpException>(() => client.GetStatsAsync("no-such-channel"));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.IsNotType<DaemonUnreachableException>(missing);
    }

    [Fact]
    public async Task Unreachable_daemon_is_a_DaemonUnreachableException_naming_the_socket()
    {
        string gone = Path.Combine(Path.GetTempPath(), $"rtudp-nobody-{Guid.NewGuid():N}.sock");
        using RtUdpClient client = RtUdpClient.ConnectUnixSocket(gone);
        DaemonUnreachableException e = await Assert.ThrowsAsync<DaemonUnreachableException>(() => client.ListChannelsAsync());
        Assert.Equal(gone, e.Address.SocketPath);
        Assert.Equal("no such socket", e.ReasonText);
    }

    [Fact]
    public async Task Engine_clock_maps_local_time_within_its_bound_and_a_packet_sent_at_it_arrives_after_it()
    {
        using RtUdpClient client = RtUdpClient.ConnectUnixSocket(daemon.SocketPath);
        EngineClock clock = await client.SynchronizeClockAsync(samples: 16);
        // One host: the daemon's CLOCK_MONOTONIC is ours, so the true offset is 0 and must lie within the bound.
        Assert.InRange(clock.OffsetNs, -clock.ErrorBoundNs, clock.ErrorBoundNs);
        Assert.True(clock.ErrorBoundNs >= clock.RoundTripNs / 2);
        long engineNow = clock.EngineNowNs();
        Assert.InRange(engineNow - Libc.MonotonicNow(), -clock.ErrorBoundNs - 1_000_000, clock.ErrorBoundNs + 1_000_000);

        Channel rx = await client.CreateReceiverAsync(Clients.UniqueId("lib-rx"), new Endpoint { Address = "127.0.0.1" }, c => { c.Priority = 0; c.Capacity = 1024; });
        Channel tx = await client.CreateSenderAsync(Clients.UniqueId("lib-tx"), rx.BoundLocal, configure: c => { c.Priority = 0; c.Capacity = 1024; });
        try
        {
            long due = clock.EngineNowNs() + 2_000_000;
            SendResponse sent = await client.SendAsync(tx.Name, "at"u8.ToArray(), SendTime.AtMonotonic(due), packetId: 7);
            Assert.Equal(due, sent.FirstDueMonotonicNs);
            await client.SendAsync(tx.Name, "after"u8.ToArray(), SendTime.After(TimeSpan.FromMilliseconds(1)));

            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var got = new List<ReceivedPacket>();
            await foreach (ReceivedPacket p in client.ReceiveStreamAsync(rx.Name, cancellationToken: cancel.Token))
            {
                got.Add(p);
                if (got.Count == 2)
                {
                    break;
                }
            }
            Assert.Equal(["at", "after"], got.Select(p => p.Payload.ToStringUtf8()).Order(StringComparer.Ordinal).Reverse());
            Assert.True(got.Single(p => p.Payload.ToStringUtf8() == "at").MonotonicNs >= due);

            ChannelStats stats = await WatchUntilAsync(client, tx.Name, s => s.Tx.Sent == 2);
            Assert.True(stats.Tx.Balanced);
        }
        finally
        {
            await client.DeleteChannelAsync(tx.Name);
            await client.DeleteChannelAsync(rx.Name);
        }
    }

    [Fact]
    public void Default_socket_follows_RTUDP_SOCKET_then_the_daemons_own_choice()
    {
        string? saved = Environment.GetEnvironmentVariable(DaemonAddress.SocketVariable);
        try
        {
            Environment.SetEnvironmentVariable(DaemonAddress.SocketVariable, "/some/where.sock");
            Assert.Equal(["/some/where.sock"], DaemonAddress.DefaultSocketCandidates());
            Environment.SetEnvironmentVariable(DaemonAddress.SocketVariable, null);
            IReadOnlyList<string> candidates = DaemonAddress.DefaultSocketCandidates();
            Assert.Contains(DaemonAddress.SystemSocket, candidates);
            string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            string user = string.IsNullOrEmpty(xdg) ? $"/tmp/rtudp-{Environment.UserName}/rtudp.sock" : Path.Combine(xdg, "rtudp", "rtudp.sock");
            Assert.Contains(user, candidates);
            // Root (as the tests run) looks at the system service's socket first.
            Assert.Equal(Tmds.Linux.LibC.geteuid() == 0 ? DaemonAddress.SystemSocket : user, candidates[0]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(DaemonAddress.SocketVariable, saved);
        }
        Assert.Equal("/x/y.sock", DaemonAddress.Parse("unix:/x/y.sock").SocketPath);
        Assert.Equal(new Uri("https://h:1"), DaemonAddress.Parse("https://h:1").Url);
        Assert.Throws<ArgumentException>(() => DaemonAddress.Parse("ftp://h:1"));
    }

    private static async Task<ChannelStats> WatchUntilAsync(RtUdpClient client, string name, Func<ChannelStats, bool> condition)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        ChannelStats? last = null;
        try
        {
            await foreach (ChannelStats stats in client.WatchStatsAsync(name, TimeSpan.FromMilliseconds(20), cancel.Token))
            {
                last = stats;
                if (condition(stats))
                {
                    return stats;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        Assert.Fail($"stats of {name} never met the condition: {last}");
        return null!;
    }
}
