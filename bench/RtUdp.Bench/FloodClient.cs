using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using RtUdp.V1;

namespace RtUdp.Bench;

/// <summary>
/// The busy neighbour of the neighbours part, in a process of its own as a second user's program would be:
/// creates a sending channel with the daemon's defaults (no CPU, default priority) and streams 64-byte
/// packets with no time (due on arrival) over one SendStream, 256 per message, at a set rate or flat out,
/// until a line arrives on its standard input. Prints "ready NAME", then "done key=value ...".
/// </summary>
internal static class FloodClient
{
    private const int PacketsPerMessage = 256;

    /// <summary>rtudp-bench flood SOCKET HOST:PORT RATE [PRIORITY] (packets/s, 0: flat out; the channel's priority, unset: the default).</summary>
    public static int Run(string[] args)
    {
        if (args.Length is not (3 or 4))
        {
            Console.Error.WriteLine("usage: rtudp-bench flood SOCKET HOST:PORT RATE [PRIORITY]");
            return 2;
        }
        string socket = args[0];
        string[] remote = args[1].Split(':');
        double rate = double.Parse(args[2], CultureInfo.InvariantCulture);
        using GrpcChannel grpc = DaemonProcess.Connect(socket);
        var channels = new ChannelService.ChannelServiceClient(grpc);
        var packets = new PacketService.PacketServiceClient(grpc);
        string id = $"bench-flood-{Environment.ProcessId}";
        var request = new CreateChannelRequest
        {
            ChannelId = id,
            Start = true,
            Channel = new Channel
            {
                Direction = ChannelDirection.Send,
                Remote = new Endpoint { Address = remote[0], Port = uint.Parse(remote[1], CultureInfo.InvariantCulture) },
                MaxPayload = 64,
            },
        };
        if (args.Length > 3)
        {
            request.Channel.Priority = int.Parse(args[3], CultureInfo.InvariantCulture);
        }
        Channel channel = channels.CreateChannel(request).Channel;
        Console.WriteLine($"ready {channel.Name}");
        using var stop = new CancellationTokenSource();
        _ = Task.Run(() =>
        {
            _ = Console.In.ReadLine();
            stop.Cancel();
        });
        var clock = Stopwatch.StartNew();
        (long messages, SendStreamResponse response) = StreamAsync(packets, channel.Name, rate, stop.Token).GetAwaiter().GetResult();
        double elapsed = clock.Elapsed.TotalSeconds;
        channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done messages={messages} accepted={response.Accepted} seconds={elapsed:0.000} full_waits={response.FullWaits} waited_s={response.Waited.ToTimeSpan().TotalSeconds:0.000}"));
        return 0;
    }

    private static async Task<(long Messages, SendStreamResponse Response)> StreamAsync(PacketService.PacketServiceClient client, string name, double rate, CancellationToken stop)
    {
        var first = new SendStreamRequest { Channel = name };
        var rest = new SendStreamRequest();
        ByteString payload = ByteString.CopyFrom(new byte[64]);
        for (int i = 0; i < PacketsPerMessage; i++)
        {
            first.Packets.Add(new OutgoingPacket { Payload = payload });
            rest.Packets.Add(new OutgoingPacket { Payload = payload });
        }
        using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = client.SendStream(cancellationToken: CancellationToken.None);
        // Paced by the total so far: a message that went out late is made up for by the next ones.
        double periodTicks = rate > 0 ? Stopwatch.Frequency * PacketsPerMessage / rate : 0;
        long started = Stopwatch.GetTimestamp();
        long messages = 0;
        await call.RequestStream.WriteAsync(first, CancellationToken.None).ConfigureAwait(false);
        messages++;
        while (!stop.IsCancellationRequested)
        {
            if (periodTicks > 0)
            {
                long due = started + (long)(messages * periodTicks);
                long wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), CancellationToken.None).ConfigureAwait(false);
                    continue;
                }
            }
            await call.RequestStream.WriteAsync(rest, CancellationToken.None).ConfigureAwait(false);
            messages++;
        }
        await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        return (messages, await call.ResponseAsync.ConfigureAwait(false));
    }
}
