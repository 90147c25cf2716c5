using System.Net;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// xdp channels end to end (docs/xdp.md): engine A sends and receives on one queue of its veth with AF_XDP (copy mode,
/// the steering program in native mode), engine B uses plain socket channels. Frames A builds must pass B's kernel
/// (headers, checksums, MAC); B's datagrams to A's port reach A's AF_XDP socket and nothing else does. Needs root:
/// network namespaces, AF_XDP (CAP_NET_RAW) and XDP programs (CAP_BPF, CAP_NET_ADMIN).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class XdpChannelTests(XdpEngineFixture pair, ITestOutputHelper output) : IClassFixture<XdpEngineFixture>, IDisposable
{
    /// <summary>A failed test leaves no channel behind to hold a queue or the program for the next one.</summary>
    public void Dispose() => pair.DeleteAllChannels();

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private ChannelConfig Xdp(string name, ChannelDirection direction, IPEndPoint remote, int queue = 0) => new()
    {
        Id = pair.EngineA!.NextId(),
        Name = name,
        Direction = direction,
        Local = new IPEndPoint(pair.AddressA, 0),
        Remote = remote,
        Capacity = 4096,
        MaxPayload = 1400,
        BatchSize = 32,
        DataPath = DataPath.Xdp,
        XdpQueue = queue,
        LaunchTime = direction == ChannelDirection.Receive ? LaunchTimeMode.Off : LaunchTimeMode.Auto,
    };

    private static ChannelHandle SocketReceiver(EngineFixture engine, IPAddress address, string name, IPEndPoint? remote = null)
    {
        ChannelHandle rx = engine.Client.CreateChannel(new ChannelConfig
        {
            Id = engine.NextId(), Name = name, Direction = ChannelDirection.Receive, Local = new IPEndPoint(address, 0), Remote = remote, Capacity = 4096, MaxPayload = 2048,
        });
        engine.Client.StartChannel(rx.Id);
        return rx;
    }

    private static byte[] Payload(int i, int length)
    {
        byte[] payload = new byte[length];
        for (int b = 0; b < length; b++)
        {
            payload[b] = (byte)(i * 31 + b);
        }
        BitConverter.TryWriteBytes(payload, i);
        return payload;
    }

    private static List<byte[]> ReceiveAll(ChannelHandle rx, int count, List<IPEndPoint>? sources = null)
    {
        var received = new List<byte[]>();
        byte[] buffer = new byte[4096];
        long deadline = Libc.MonotonicNow() + 10_000_000_000;
        while (received.Count < count && Libc.MonotonicNow() < deadline)
        {
            if (rx.Receive(buffer, timeoutNs: 100_000_000) is { } packet)
            {
                received.Add(buffer.AsSpan(0, packet.Length).ToArray());
                sources?.Add(packet.Source!);
            }
        }
        return received;
    }

    [Fact]
    public void An_xdp_channel_sends_frames_that_a_socket_channel_behind_the_peers_kernel_receives_intact_and_says_what_is_in_effect()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        using ChannelHandle rx = SocketReceiver(pair.EngineB!, pair.AddressB, "xdp-peer-rx");
        using ChannelHandle tx = a.Client.CreateChannel(Xdp("xdp-tx", ChannelDirection.Send, rx.BoundLocal));
        a.Client.StartChannel(tx.Id);

        ChannelModeBlock mode = tx.ReadStats().Mode;
        Assert.Equal(DataPath.Xdp, (DataPath)mode.DataPath);
        Assert.Equal(0, mode.XdpZeroCopy);
        Assert.Equal(XdpAttachMode.None, (XdpAttachMode)mode.XdpAttach); // send-only: no program
        Assert.Equal(pair.MacBText, mode.NextHopMacText);
        Assert.Equal(pair.VethA, mode.InterfaceName);
        Assert.Equal(XdpDeviceFeatureBits.None, (XdpDeviceFeatureBits)mode.XdpDeviceFeatures);
        Assert.Contains("xdp: copy mode", mode.NotesText, StringComparison.Ordinal);
        Assert.Contains("launch_time: user-space timing", mode.NotesText, StringComparison.Ordinal);
        Assert.Contains("timestamps: off", mode.NotesText, StringComparison.Ordinal);
        Assert.False(pair.ProgramOnA);

        const int Count = 500;
        long start = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < Count; i++)
        {
            // Sizes from 0 to 1400 (odd ones too): every length's checksum has to pass B's kernel.
            Assert.Equal(EnqueueResult.Ok, tx.TryEnqueue(Payload(i, i * 1400 / (Count - 1)), start + (i * 20_000L), packetId: i));
        }
        var sources = new List<IPEndPoint>();
        List<byte[]> received = ReceiveAll(rx, Count, sources);
        ChannelStats stats = Accounting.WaitFinished(tx, Count);
        Assert.True(received.Count == Count, $"{received.Count} of {Count} received\ntx: {Accounting.Describe(stats)}\nrx: {Accounting.Describe(rx.ReadStats())}\nA:\n{a.Log}");
        var expected = Enumerable.Range(0, Count).Select(i => Convert.ToHexString(Payload(i, i * 1400 / (Count - 1)))).Order().ToArray();
        Assert.Equal(expected, received.Select(Convert.ToHexString).Order().ToArray());
        Assert.All(sources, s => Assert.Equal(tx.BoundLocal, s));
        Assert.Equal(Count, stats[ChannelCounter.Sent]);
        Assert.Equal(Count, stats.SendError.TotalCount);
        Accounting.WaitReceiverIdle(rx);
        Accounting.AssertBalanced(tx, rx);
        a.Client.DeleteChannel(tx.Id);
        pair.EngineB!.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void An_xdp_channel_receives_its_port_from_the_peer_while_other_ports_still_reach_the_kernel_and_the_program_goes_with_the_channel()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        // B's sender first (its bound port is the remote A's channel accepts), started once A's channel is.
        using ChannelHandle btx = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(), Name = "xdp-peer-tx", Direction = ChannelDirection.Send, Local = new IPEndPoint(pair.AddressB, 0),
            Remote = new IPEndPoint(pair.AddressA, 9), Capacity = 4096, MaxPayload = 2048,
        });
        using ChannelHandle xrx = a.Client.CreateChannel(Xdp("xdp-rx", ChannelDirection.Receive, btx.BoundLocal));
        a.Client.StartChannel(xrx.Id);
        Assert.True(pair.ProgramOnA, "no XDP program on A's veth while a receiving xdp channel runs");
        ChannelModeBlock mode = xrx.ReadStats().Mode;
        Assert.Equal(XdpAttachMode.Native, (XdpAttachMode)mode.XdpAttach);

        // B's sender now aims at A's xdp channel; a socket channel on another port of A must still get its datagrams.
        b.Client.DeleteChannel(btx.Id);
        using ChannelHandle other = SocketReceiver(a, pair.AddressA, "xdp-other-port");
        using ChannelHandle toXdp = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(), Name = "xdp-peer-tx2", Direction = ChannelDirection.Send, Local = btx.BoundLocal, Remote = xrx.BoundLocal, Capacity = 4096, MaxPayload = 2048,
        });
        using ChannelHandle toOther = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(), Name = "xdp-peer-tx3", Direction = ChannelDirection.Send, Local = new IPEndPoint(pair.AddressB, 0), Remote = other.BoundLocal, Capacity = 4096, MaxPayload = 2048,
        });
        b.Client.StartChannel(toXdp.Id);
        b.Client.StartChannel(toOther.Id);
        const int Count = 300;
        long start = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, toXdp.TryEnqueue(Payload(i, 64 + i), start + (i * 20_000L), packetId: i));
            Assert.Equal(EnqueueResult.Ok, toOther.TryEnqueue(Payload(i, 32), start + (i * 20_000L), packetId: i));
        }
        var sources = new List<IPEndPoint>();
        List<byte[]> viaXdp = ReceiveAll(xrx, Count, sources);
        List<byte[]> viaKernel = ReceiveAll(other, Count);
        ChannelStats xdpStats = xrx.ReadStats();
        Assert.True(viaXdp.Count == Count, $"{viaXdp.Count} of {Count} through AF_XDP (rejected {xdpStats[ChannelCounter.RxXdpRejected]}, bad checksums {xdpStats[ChannelCounter.RxXdpBadChecksum]}, via the kernel {xdpStats[ChannelCounter.RxXdpViaKernel]})\n{Accounting.Describe(xdpStats)}\nA:\n{a.Log}");
        Assert.Equal(0, xdpStats[ChannelCounter.RxXdpViaKernel]);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => Convert.ToHexString(Payload(i, 64 + i))).Order(), viaXdp.Select(Convert.ToHexString).Order());
        Assert.All(sources, s => Assert.Equal(toXdp.BoundLocal, s));
        Assert.Equal(Count, viaKernel.Count);
        Assert.Equal(0, xdpStats[ChannelCounter.RxXdpRejected]);
        Accounting.WaitReceiverIdle(xrx);
        Accounting.AssertBalanced(toXdp, xrx);

        a.Client.DeleteChannel(xrx.Id);
        Assert.False(pair.ProgramOnA, "the steering program outlived its channel");
        a.Client.DeleteChannel(other.Id);
        b.Client.DeleteChannel(toXdp.Id);
        b.Client.DeleteChannel(toOther.Id);
    }

    [Fact]
    public void Over_ipv6_an_xdp_channel_and_a_socket_channel_exchange_datagrams_both_ways_with_the_checksums_the_kernel_demands()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        using ChannelHandle peer = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(), Name = "xdp6-peer", Direction = ChannelDirection.Receive, Local = new IPEndPoint(pair.Ipv6B, 0),
            Capacity = 4096, MaxPayload = 2048, Flags = ChannelFlags.Reflect,
        });
        b.Client.StartChannel(peer.Id);
        using ChannelHandle xdp = a.Client.CreateChannel(Xdp("xdp6", ChannelDirection.Duplex, peer.BoundLocal) with { Local = new IPEndPoint(pair.Ipv6A, 0) });
        a.Client.StartChannel(xdp.Id);
        Assert.Equal(pair.MacBText, xdp.ReadStats().Mode.NextHopMacText);

        // B reflects each datagram: out through A's frames (IPv6 UDP checksums are mandatory: B's kernel checks them),
        // back through A's steering program and parser (which checks B's).
        const int Count = 200;
        long start = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(EnqueueResult.Ok, xdp.TryEnqueue(Payload(i, 1 + (i * 7)), start + (i * 20_000L), packetId: i));
        }
        var sources = new List<IPEndPoint>();
        List<byte[]> back = ReceiveAll(xdp, Count, sources);
        ChannelStats stats = xdp.ReadStats();
        Assert.True(back.Count == Count, $"{back.Count} of {Count} came back (rejected {stats[ChannelCounter.RxXdpRejected]}, bad checksums {stats[ChannelCounter.RxXdpBadChecksum]})\n{Accounting.Describe(stats)}\npeer: {Accounting.Describe(peer.ReadStats())}");
        Assert.Equal(Enumerable.Range(0, Count).Select(i => Convert.ToHexString(Payload(i, 1 + (i * 7)))).Order(), back.Select(Convert.ToHexString).Order());
        Assert.All(sources, s => Assert.Equal(peer.BoundLocal, s));
        Assert.Equal(Count, peer.ReadStats()[ChannelCounter.Reflected]);
    }

    [Fact]
    public void Two_xdp_channels_on_two_queues_of_one_interface_share_the_program_and_both_send()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        using ChannelHandle rx = SocketReceiver(pair.EngineB!, pair.AddressB, "xdp-two-rx");
        using ChannelHandle q0 = a.Client.CreateChannel(Xdp("xdp-q0", ChannelDirection.Duplex, rx.BoundLocal, queue: 0));
        using ChannelHandle q1 = a.Client.CreateChannel(Xdp("xdp-q1", ChannelDirection.Duplex, rx.BoundLocal, queue: 1));
        a.Client.StartChannel(q0.Id);
        a.Client.StartChannel(q1.Id);
        Assert.Equal(1, q1.ReadStats().Mode.XdpQueue);
        long start = Libc.MonotonicNow() + 20_000_000;
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(EnqueueResult.Ok, q0.TryEnqueue(Payload(i, 100), start + (i * 50_000L), packetId: i));
            Assert.Equal(EnqueueResult.Ok, q1.TryEnqueue(Payload(1000 + i, 100), start + (i * 50_000L), packetId: i));
        }
        Assert.Equal(200, ReceiveAll(rx, 200).Count);
        a.Client.DeleteChannel(q0.Id);
        Assert.True(pair.ProgramOnA, "the program went with the first of two channels sharing it");
        a.Client.DeleteChannel(q1.Id);
        Assert.False(pair.ProgramOnA);
        pair.EngineB!.Client.DeleteChannel(rx.Id);
    }

    [Fact]
    public void What_cannot_be_had_is_refused_naming_the_field()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineConnection a = pair.EngineA!.Client;
        var peer = new IPEndPoint(pair.AddressB, 9);
        (ChannelConfig Config, string Field, string Says)[] cases =
        [
            (Xdp("xdp-bad-queue", ChannelDirection.Send, peer, queue: 5), "xdp.queue", "out of range"),
            (Xdp("xdp-no-host", ChannelDirection.Send, new IPEndPoint(pair.SilentNeighbour, 9)), "remote", "could not resolve the MAC"),
            (Xdp("xdp-self", ChannelDirection.Send, new IPEndPoint(IPAddress.Loopback, 9)) with { Local = new IPEndPoint(IPAddress.Loopback, 0) }, "remote", "remote next hop"),
            (Xdp("xdp-zc", ChannelDirection.Send, peer) with { XdpZeroCopy = XdpZeroCopy.On }, "xdp.zero_copy", "zero-copy"),
            (Xdp("xdp-launch", ChannelDirection.Send, peer) with { LaunchTime = LaunchTimeMode.Required }, "launch_time", "tx-launch-time-fifo"),
            (Xdp("xdp-hw", ChannelDirection.Send, peer) with { Timestamps = TimestampMode.Hardware }, "timestamps", "tx-timestamp"),
        ];
        foreach ((ChannelConfig config, string field, string says) in cases)
        {
            var error = Assert.Throws<EngineCommandException>(() => a.CreateChannel(config));
            output.WriteLine($"{config.Name}: {error.Status} {error.Field}: {error.Message}");
            Assert.Equal(field, error.Field);
            Assert.Contains(says, error.Message, StringComparison.Ordinal);
        }
        Assert.False(pair.ProgramOnA);
    }
    [Fact]
    public void The_engine_allocates_nothing_and_collects_nothing_sending_and_receiving_on_xdp_in_steady_state()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        EngineFixture b = pair.EngineB!;
        // B reflects what A's xdp channel sends: A's send worker builds frames, its receive worker parses them back.
        using ChannelHandle reflector = b.Client.CreateChannel(new ChannelConfig
        {
            Id = b.NextId(), Name = "xdp-steady-reflector", Direction = ChannelDirection.Receive, Local = new IPEndPoint(pair.AddressB, 0),
            Capacity = 4096, MaxPayload = 2048, Flags = ChannelFlags.Reflect,
        });
        b.Client.StartChannel(reflector.Id);
        using ChannelHandle xdp = a.Client.CreateChannel(Xdp("xdp-steady", ChannelDirection.Duplex, reflector.BoundLocal) with { LaunchTime = LaunchTimeMode.Off, Timestamps = TimestampMode.Off });
        a.Client.StartChannel(xdp.Id);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[2048];

        void Traffic(int packets)
        {
            long start = Libc.MonotonicNow() + 1_000_000;
            for (int i = 0; i < packets; i++)
            {
                Assert.Equal(EnqueueResult.Ok, xdp.TryEnqueue(payload, start + (i * 100_000L), i));
            }
            for (int i = 0; i < packets; i++)
            {
                Assert.True(xdp.Receive(buffer, 2_000_000_000).HasValue, $"reflection {i} of {packets} missing\n{Accounting.Describe(xdp.ReadStats())}");
            }
        }

        Traffic(200); // warm-up
        EngineHealth before = FreshHealth(a);
        Traffic(2000);
        EngineHealth after = FreshHealth(a);

        Assert.Equal(before.TotalCollections, after.TotalCollections);
        Assert.Equal(before.AllocatedBytes, after.AllocatedBytes);
        ChannelStats stats = xdp.ReadStats();
        Assert.Equal(2200, stats[ChannelCounter.Sent]);
        Assert.Equal(2200, stats[ChannelCounter.Received]);
        Assert.True(stats.TxBalanced);
        a.Client.DeleteChannel(xdp.Id);
        b.Client.DeleteChannel(reflector.Id);
    }

    /// <summary>Engine health published after this call began (the conductor republishes at least every 100 ms).</summary>
    private static EngineHealth FreshHealth(EngineFixture engine)
    {
        long beat = engine.Client.ReadHealth().Heartbeat;
        Wait.Until(() => engine.Client.ReadHealth().Heartbeat > beat + 1, TimeSpan.FromSeconds(5), () => "conductor heartbeat");
        return engine.Client.ReadHealth();
    }
}

/// <summary>
/// An engine killed with SIGKILL leaves its steering program attached (libxdp's attachment outlives the process);
/// the next engine of the same directory detaches it before taking commands. A fixture of its own: engine A dies.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class XdpLeftoverTests(XdpEngineFixture pair, ITestOutputHelper output) : IClassFixture<XdpEngineFixture>
{
    [Fact]
    public void A_program_a_killed_engine_left_passes_traffic_and_the_next_engine_detaches_it()
    {
        if (pair.SkipReason is { } reason)
        {
            output.WriteLine($"SKIPPED: {reason}");
            return;
        }
        EngineFixture a = pair.EngineA!;
        using ChannelHandle xrx = a.Client.CreateChannel(new ChannelConfig
        {
            Id = a.NextId(), Name = "xdp-killed", Direction = ChannelDirection.Receive, Local = new IPEndPoint(pair.AddressA, 0),
            Remote = new IPEndPoint(pair.AddressB, 9), Capacity = 1024, MaxPayload = 1400, DataPath = DataPath.Xdp,
        });
        a.Client.StartChannel(xrx.Id);
        Assert.True(pair.ProgramOnA);
        var log = new List<string>();
        using EngineProcess next = pair.RestartEngineA(line => { lock (log) { log.Add(line); } });
        Assert.False(pair.ProgramOnA, $"the next engine left the dead one's program on {pair.VethA}:\n{string.Join('\n', log)}");
        Assert.Contains(log, l => l.Contains("detached 1 steering program", StringComparison.Ordinal));
    }
}
