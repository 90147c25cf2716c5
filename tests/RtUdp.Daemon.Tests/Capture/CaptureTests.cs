using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Capture;

/// <summary>CaptureService against the real daemon; the files are read back with tshark.</summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CaptureTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);
    private readonly CaptureService.CaptureServiceClient _captures = new(daemon.Unix);

    private static Duration Ms(double ms) => Duration.FromTimeSpan(TimeSpan.FromMilliseconds(ms));

    private async Task SendAsync(Channel tx, IEnumerable<byte[]> payloads)
    {
        var request = new SendRequest { Channel = tx.Name };
        int i = 0;
        foreach (byte[] payload in payloads)
        {
            request.Packets.Add(new OutgoingPacket { Payload = ByteString.CopyFrom(payload), Delay = Ms(i++ * 0.5) });
        }
        await _api.Packets.SendAsync(request);
    }

    private static byte[] Payload(int i) => [.. "capture-"u8, (byte)i, .. Enumerable.Repeat((byte)i, i)];

    private async Task<V1.Capture> WaitAsync(string name, Func<V1.Capture, bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            V1.Capture c = (await _captures.GetCaptureAsync(new GetCaptureRequest { Name = name })).Capture;
            if (condition(c))
            {
                return c;
            }
            Assert.True(DateTime.UtcNow < deadline, $"capture never met the condition: {c}");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Tee_capture_holds_exactly_the_drained_packets_with_their_rx_stamps()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("cap-tee-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("cap-tee-tx"), rx.BoundLocal);
        string file = $"tee-{Guid.NewGuid():N}";
        V1.Capture started = (await _captures.StartCaptureAsync(new StartCaptureRequest { Parent = rx.Name, FileName = file, CaptureId = "tee" })).Capture;
        Assert.Equal(CaptureMode.Tee, started.Mode);
        Assert.Equal(file + ".pcapng", started.FileName);
        Assert.Equal(Path.Combine(daemon.CaptureDirectory, file + ".pcapng"), started.Path);

        const int Count = 25;
        await SendAsync(tx, Enumerable.Range(0, Count).Select(Payload));
        var received = new List<ReceivedPacket>();
        while (received.Count < Count)
        {
            ReceiveResponse batch = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 100, Timeout = Ms(2000) });
            Assert.NotEmpty(batch.Packets);
            received.AddRange(batch.Packets);
        }
        V1.Capture stopped = (await _captures.StopCaptureAsync(new StopCaptureRequest { Name = started.Name })).Capture;
        Assert.Equal(CaptureState.Stopped, stopped.State);
        Assert.Equal(Count, stopped.PacketsWritten);
        Assert.Equal(0, stopped.PacketsDropped);
        Assert.Equal(new FileInfo(stopped.Path).Length, stopped.BytesWritten);

        List<string[]> rows = await Tshark.FieldsAsync(stopped.Path, "frame.time_epoch", "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "udp.length", "udp.payload", "ip.checksum.status", "udp.checksum.status");
        Assert.Equal(Count, rows.Count);
        for (int i = 0; i < Count; i++)
        {
            string[] r = rows[i];
            ReceivedPacket p = received[i];
            Assert.True(p.SoftwareStampNs != 0, "loopback gives software RX stamps");
            Assert.Equal(p.SoftwareStampNs, Tshark.EpochNs(r[0])); // the RX stamp, to the ns
            Assert.Equal([p.Source.Address, rx.BoundLocal.Address], r[1..3]);
            Assert.Equal([p.Source.Port.ToString(), rx.BoundLocal.Port.ToString()], r[3..5]);
            Assert.Equal((8 + p.Payload.Length).ToString(), r[5]);
            Assert.Equal(Convert.ToHexString(p.Payload.Span).ToLowerInvariant(), r[6].Replace(":", "", StringComparison.Ordinal));
            Assert.Equal(Payload(i), p.Payload.ToByteArray());
            Assert.Equal(["1", "1"], r[7..9]); // checksums good
        }
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Exclusive_capture_drains_the_channel_itself()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("cap-ex-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("cap-ex-tx"), rx.BoundLocal);
        V1.Capture started = (await _captures.StartCaptureAsync(new StartCaptureRequest
        {
            Parent = rx.Name,
            FileName = $"ex-{Guid.NewGuid():N}.pcapng",
            Mode = CaptureMode.Exclusive,
        })).Capture;
        Google.Rpc.Status refused = await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name }).ResponseAsync);
        Assert.Contains("EXCLUSIVE capture", refused.Message, StringComparison.Ordinal);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => _captures.StartCaptureAsync(new StartCaptureRequest { Parent = rx.Name, FileName = "other" }).ResponseAsync);

        const int Count = 40;
        await SendAsync(tx, Enumerable.Range(0, Count).Select(Payload));
        await WaitAsync(started.Name, c => c.PacketsWritten == Count);
        V1.Capture stopped = (await _captures.StopCaptureAsync(new StopCaptureRequest { Name = started.Name })).Capture;
        Assert.Equal(Count, stopped.PacketsWritten);
        List<string[]> rows = await Tshark.FieldsAsync(stopped.Path, "frame.time_epoch", "udp.payload");
        Assert.Equal(Enumerable.Range(0, Count).Select(i => Convert.ToHexString(Payload(i)).ToLowerInvariant()), rows.Select(r => r[1].Replace(":", "", StringComparison.Ordinal)));
        long[] stamps = [.. rows.Select(r => Tshark.EpochNs(r[0]))];
        Assert.Equal(stamps.Order(), stamps);

        // Stopped: the clients drain again; the counters say the capture drained them (the channel's drained count).
        V1.ChannelStats stats = await _api.WaitStatsAsync(rx.Name, s => s.Counters.GetValueOrDefault("drained") >= Count);
        Assert.Equal(Count, stats.Counters["drained"]);
        ReceiveResponse none = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, Timeout = Ms(50) });
        Assert.Empty(none.Packets);
        ListCapturesResponse list = await _captures.ListCapturesAsync(new ListCapturesRequest { Parent = rx.Name });
        Assert.Equal([started.Name], list.Captures.Select(c => c.Name));

        // The capture replays: a generator sends the file's payloads again, in order, with its gaps.
        var generators = new GeneratorService.GeneratorServiceClient(daemon.Unix);
        Generator replay = (await generators.StartGeneratorAsync(new StartGeneratorRequest
        {
            Parent = tx.Name,
            Spec = new GeneratorSpec { Replay = new ReplaySchedule { FileName = stopped.FileName }, StartDelay = Ms(20) },
        })).Generator;
        var again = new List<ReceivedPacket>();
        while (again.Count < Count)
        {
            ReceiveResponse batch = await _api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 100, Timeout = Ms(2000) });
            Assert.NotEmpty(batch.Packets);
            again.AddRange(batch.Packets);
        }
        Assert.Equal(Enumerable.Range(0, Count).Select(Payload), again.Select(p => p.Payload.ToByteArray()));
        // The file's gaps, kept: each packet's arrival after the first, against the file's. On this shared 2-CPU
        // machine the whole replay can start a stall late (other test assemblies run alongside), so the start
        // itself gets a looser bound than the gaps; a stall delays the in-order burst as one.
        Assert.InRange(again[0].MonotonicNs - replay.StartMonotonicNs, -50_000, 200_000_000);
        for (int i = 1; i < Count; i++)
        {
            long fileGap = stamps[i] - stamps[0];
            Assert.InRange(again[i].MonotonicNs - again[0].MonotonicNs - fileGap, -20_000_000, 20_000_000);
        }
        await _api.DeleteAsync(tx, rx);
    }

    [Fact]
    public async Task Max_packets_ends_the_capture_and_bad_requests_are_refused()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("cap-bad-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("cap-bad-tx"), rx.BoundLocal);
        Task Start(string file, string parent = "", bool overwrite = false, long max = 0) =>
            _captures.StartCaptureAsync(new StartCaptureRequest { Parent = parent.Length > 0 ? parent : rx.Name, FileName = file, Overwrite = overwrite, MaxPackets = max }).ResponseAsync;

        await RpcAssert.InvalidAsync(() => Start("../escape"), "file_name");
        await RpcAssert.InvalidAsync(() => Start("/etc/passwd"), "file_name");
        await RpcAssert.InvalidAsync(() => Start(".hidden"), "file_name");
        await RpcAssert.InvalidAsync(() => Start(""), "file_name");
        await RpcAssert.InvalidAsync(() => Start("ok", max: -1), "max_packets");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Start("ok", parent: "channels/none-such"));
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Start("ok", parent: tx.Name));
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => _captures.GetCaptureAsync(new GetCaptureRequest { Name = $"{rx.Name}/captures/none" }).ResponseAsync);

        string file = $"max-{Guid.NewGuid():N}.pcapng";
        V1.Capture limited = (await _captures.StartCaptureAsync(new StartCaptureRequest { Parent = rx.Name, FileName = file, Mode = CaptureMode.Exclusive, MaxPackets = 5 })).Capture;
        await SendAsync(tx, Enumerable.Range(0, 8).Select(Payload));
        V1.Capture ended = await WaitAsync(limited.Name, c => c.State != CaptureState.Running);
        Assert.Equal(CaptureState.Stopped, ended.State);
        Assert.Equal(5, ended.PacketsWritten);
        Assert.Equal(5, (await Tshark.FieldsAsync(ended.Path, "udp.payload")).Count);

        // The file exists now: refused unless overwrite (which replaces it).
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => Start(file));
        V1.Capture again = (await _captures.StartCaptureAsync(new StartCaptureRequest { Parent = rx.Name, FileName = file, Overwrite = true })).Capture;
        V1.Capture emptied = (await _captures.StopCaptureAsync(new StopCaptureRequest { Name = again.Name })).Capture;
        Assert.Equal(0, emptied.PacketsWritten);
        Assert.Empty(await Tshark.FieldsAsync(emptied.Path, "udp.payload"));

        // A symbolic link in the directory is never written through.
        string link = Path.Combine(daemon.CaptureDirectory, $"link-{Guid.NewGuid():N}.pcapng");
        string target = Path.Combine(daemon.EngineDirectory, "outside");
        await File.WriteAllTextAsync(target, "keep");
        File.CreateSymbolicLink(link, target);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () => Start(Path.GetFileName(link), overwrite: true));
        Assert.Equal("keep", await File.ReadAllTextAsync(target));

        // Deleting the channel ends its running capture (FAILED, said why); the file stays readable.
        V1.Capture tee = (await _captures.StartCaptureAsync(new StartCaptureRequest { Parent = rx.Name, FileName = $"gone-{Guid.NewGuid():N}" })).Capture;
        await _api.DeleteAsync(tx, rx);
        V1.Capture gone = await WaitAsync(tee.Name, c => c.State != CaptureState.Running);
        Assert.Equal(CaptureState.Failed, gone.State);
        Assert.Contains("deleted", gone.Error, StringComparison.Ordinal);
        Assert.Empty(await Tshark.FieldsAsync(gone.Path, "udp.payload"));
    }
}
