using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RtUdp.V1;
using Endpoint = RtUdp.V1.Endpoint;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// Warms rtudpd before READY=1: a throwaway loopback flow through its own API, over its own unix socket
/// (GetClock, CreateChannel, Send, Receive, SendStream, ReceiveStream, GetStats, GetHistogram, ListChannels,
/// DeleteChannel), so that a
/// client's first calls, and the engine's send and receive paths, do not pay for JIT compilation and
/// first-use set-up (a cold first Send cost more than a 1 ms lead). Logs the first and last Send's time.
/// A failure is logged and the start goes on: the exercise only warms.
/// </summary>
internal sealed partial class StartupExercise(ListenOptions listen, ILogger<StartupExercise> logger)
{
    /// <summary>Send/Receive rounds: the tenth is the warm reference the first is compared with (40 rounds measured no better).</summary>
    public const int Rounds = 10;

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private const string Receiver = "rtudpd.warmup.rx", Sender = "rtudpd.warmup.tx";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (listen.EffectiveUnixSocket is not { } socket)
        {
            Log.Skipped(logger, "no unix socket listener (Listen:UnixSocket is empty)");
            return;
        }
        var total = Stopwatch.StartNew();
        using GrpcChannel channel = UnixChannel(socket);
        var channels = new ChannelService.ChannelServiceClient(channel);
        try
        {
            (double first, double tenth, double last) = await FlowAsync(channel, channels, cancellationToken);
            Log.Done(logger, total.Elapsed.TotalMilliseconds, first, tenth, Rounds, last);
        }
        catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Log.Failed(logger, e.Message);
        }
        finally
        {
            foreach (string id in new[] { Sender, Receiver })
            {
                try
                {
                    await channels.DeleteChannelAsync(new DeleteChannelRequest { Name = "channels/" + id }, deadline: DateTime.UtcNow + Deadline, cancellationToken: CancellationToken.None);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    // Never created (the exercise failed before), or already deleted.
                }
                catch (RpcException e)
                {
                    Log.Failed(logger, $"deleting channels/{id}: {e.Status.Detail}");
                }
            }
        }
    }

    /// <summary>The flow; returns the first, the tenth and the last Send's duration, ms.</summary>
    private static async Task<(double First, double Tenth, double Last)> FlowAsync(GrpcChannel channel, ChannelService.ChannelServiceClient channels, CancellationToken cancellationToken)
    {
        var packets = new PacketService.PacketServiceClient(channel);
        var clock = new ClockService.ClockServiceClient(channel);
        var stats = new StatsService.StatsServiceClient(channel);
        CallOptions Options() => new(deadline: DateTime.UtcNow + Deadline, cancellationToken: cancellationToken);

        Channel rx = (await channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Receiver,
            Start = true,
            Channel = new Channel { Direction = ChannelDirection.Receive, Local = new Endpoint { Address = "127.0.0.1" }, Capacity = 64, MaxPayload = 64, Priority = 0 },
        }, Options())).Channel;
        Channel tx = (await channels.CreateChannelAsync(new CreateChannelRequest
        {
            ChannelId = Sender,
            Start = true,
            Channel = new Channel
            {
                Direction = ChannelDirection.Send,
                Local = new Endpoint { Address = "127.0.0.1" },
                Remote = new Endpoint { Address = "127.0.0.1", Port = rx.BoundLocal.Port },
                Capacity = 64,
                MaxPayload = 64,
                Priority = 0,
            },
        }, Options())).Channel;
        _ = await channels.ListChannelsAsync(new ListChannelsRequest(), Options());
        _ = await channels.GetChannelAsync(new GetChannelRequest { Name = tx.Name }, Options());

        double first = 0, tenth = 0, last = 0;
        ByteString payload = ByteString.CopyFromUtf8("rtudpd warm-up");
        for (int round = 0; round < Rounds; round++)
        {
            long now = (await clock.GetClockAsync(new GetClockRequest(), Options())).MonotonicNs;
            // As a client's first packet: a time 1 ms ahead, and (every other round) a delay instead.
            var packet = new OutgoingPacket { Payload = payload };
            if (round % 2 == 0)
            {
                packet.MonotonicNs = now + 1_000_000;
            }
            else
            {
                packet.Delay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1));
            }
            long start = Stopwatch.GetTimestamp();
            _ = await packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { packet } }, Options());
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            first = round == 0 ? ms : first;
            tenth = round == 9 ? ms : tenth;
            last = ms;
            ReceiveResponse received = await packets.ReceiveAsync(new ReceiveRequest
            {
                Channel = rx.Name,
                MaxCount = 1,
                Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
            }, Options());
            if (received.Packets.Count != 1)
            {
                throw new InvalidOperationException($"warm-up packet {round} not received within 2 s");
            }
        }
        await StreamRoundsAsync(packets, clock, tx, rx, Options, cancellationToken);
        _ = await stats.GetStatsAsync(new GetStatsRequest { Name = tx.Name }, Options());
        _ = await stats.GetStatsAsync(new GetStatsRequest { Name = rx.Name }, Options());
        _ = await stats.GetHistogramAsync(new GetHistogramRequest { Name = tx.Name, Kind = HistogramKind.SendError, Percentiles = { 50, 99 } }, Options());
        return (first, tenth, last);
    }

    /// <summary>
    /// The streaming calls (SendStream, ReceiveStream) have first-use costs of their own: the Python package sends and
    /// receives through them, and its first packet 1 ms ahead arrived 11-17 ms late on a daemon warmed by Send alone.
    /// </summary>
    private static async Task StreamRoundsAsync(PacketService.PacketServiceClient packets, ClockService.ClockServiceClient clock, Channel tx, Channel rx,
        Func<CallOptions> options, CancellationToken cancellationToken)
    {
        using AsyncServerStreamingCall<ReceiveStreamResponse> receive = packets.ReceiveStream(new ReceiveStreamRequest { Channel = rx.Name, MaxBatch = 1 }, options());
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> send = packets.SendStream(options());
        await send.RequestStream.WriteAsync(new SendStreamRequest { Channel = tx.Name }, cancellationToken);
        ByteString payload = ByteString.CopyFromUtf8("rtudpd warm-up stream");
        for (int round = 0; round < Rounds; round++)
        {
            long now = (await clock.GetClockAsync(new GetClockRequest(), options())).MonotonicNs;
            await send.RequestStream.WriteAsync(new SendStreamRequest { Packets = { new OutgoingPacket { Payload = payload, MonotonicNs = now + 1_000_000 } } }, cancellationToken);
            if (!await receive.ResponseStream.MoveNext(cancellationToken))
            {
                throw new InvalidOperationException($"warm-up stream packet {round}: the receive stream ended");
            }
        }
        await send.RequestStream.CompleteAsync();
        _ = await send.ResponseAsync;
    }

    private static GrpcChannel UnixChannel(string path)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 127, Level = LogLevel.Information, Message = "Warmed up before READY in {TotalMs:0.0} ms: a loopback flow through the API; its first Send took {FirstSendMs:0.00} ms, its tenth {TenthSendMs:0.00} ms (of {Rounds}; the last {LastSendMs:0.00} ms)")]
        public static partial void Done(ILogger logger, double totalMs, double firstSendMs, double tenthSendMs, int rounds, double lastSendMs);

        [LoggerMessage(EventId = 128, Level = LogLevel.Warning, Message = "Warm-up before READY skipped: {Reason}")]
        public static partial void Skipped(ILogger logger, string reason);

        [LoggerMessage(EventId = 129, Level = LogLevel.Warning, Message = "Warm-up before READY failed (the start goes on; a client's first calls may be slow): {Reason}")]
        public static partial void Failed(ILogger logger, string reason);
    }
}
