using System.CommandLine;
using System.Diagnostics;
using System.Net;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.Ctl.Pcap;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>
/// rtudpctl recv NAME [--count N] [--timeout D] [--hexdump] [--pcap FILE]: drains a receiving channel,
/// until N packets came or none came for D (0: wait for ever).
/// </summary>
internal static class RecvCommand
{
    /// <summary>The longest wait one Receive call may ask for.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);

    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        Option<long?> count = Options.Long("--count", "Stop after this many packets (default: when --timeout passes without one)", 1, long.MaxValue);
        Option<TimeSpan> timeout = Options.Duration("--timeout", "Stop when no packet came for this long (0: wait for ever)", TimeSpan.FromSeconds(1));
        var hexdump = new Option<bool>("--hexdump") { Description = "Print payloads as a hex dump instead of text" };
        var pcap = new Option<FileInfo?>("--pcap") { Description = "Also write the packets to this pcap file (ns timestamps from the RX stamps; raw IP)", HelpName = "FILE" };
        var command = new Command("recv", "Print (and capture) the packets a receiving channel got") { name, count, timeout, hexdump, pcap };
        command.SetAction(async (parse, cancel) =>
        {
            string channel = ChannelName.Of(parse.GetValue(name)!);
            long wanted = parse.GetValue(count) ?? long.MaxValue;
            TimeSpan idle = parse.GetValue(timeout);
            bool json = parse.GetValue(GlobalOptions.Json);
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Capture? capture = parse.GetValue(pcap) is { } file ? await Capture.OpenAsync(client, channel, file, cancel) : null;
            long received = 0;
            try
            {
                var quiet = Stopwatch.StartNew();
                while (received < wanted)
                {
                    TimeSpan wait = idle == TimeSpan.Zero ? MaxWait : idle - quiet.Elapsed;
                    if (wait <= TimeSpan.Zero)
                    {
                        break;
                    }
                    int max = (int)Math.Min(10_000, wanted - received);
                    IReadOnlyList<ReceivedPacket> packets = await client.ReceiveAsync(channel, max, wait < MaxWait ? wait : MaxWait, cancel);
                    foreach (ReceivedPacket packet in packets)
                    {
                        received++;
                        Print(packet, received, json, parse.GetValue(hexdump));
                        capture?.Write(packet);
                    }
                    if (packets.Count > 0)
                    {
                        quiet.Restart();
                    }
                }
            }
            finally
            {
                capture?.Dispose();
            }
            if (!json)
            {
                Console.Error.WriteLine($"{received} packet(s) received on {channel}" + (capture is not null ? $", written to {capture.Path}" : ""));
            }
            return wanted != long.MaxValue && received < wanted ? ExitCodes.Incomplete : ExitCodes.Ok;
        });
        return command;
    }

    private static void Print(ReceivedPacket packet, long index, bool json, bool hexdump)
    {
        if (json)
        {
            Console.WriteLine(JsonOut.Line(packet));
            return;
        }
        string stamp = packet.MonotonicNs != 0 ? $"rx {packet.MonotonicNs} ns ({Text.Name(packet.StampSource)})" : "no rx stamp";
        string header = $"#{index} seq {packet.Sequence} from {Text.Endpoint(packet.Source)}, {packet.Payload.Length} bytes, {stamp}";
        if (hexdump)
        {
            Console.WriteLine(header);
            Console.Write(Text.HexDump(packet.Payload.Span));
        }
        else
        {
            Console.WriteLine(header + ": " + Text.Payload(packet.Payload.Span));
        }
    }

    /// <summary>The pcap file and what its records need: the channel's address (the destination) and the realtime offset.</summary>
    private sealed class Capture(PcapWriter writer, string path, IPEndPoint destination, long realtimeMinusMonotonicNs) : IDisposable
    {
        public string Path { get; } = path;

        public static async Task<Capture> OpenAsync(RtUdpClient client, string channel, FileInfo file, CancellationToken cancel)
        {
            Channel c = await client.GetChannelAsync(channel, cancel);
            Endpoint bound = c.BoundLocal ?? c.Local;
            var destination = new IPEndPoint(IPAddress.Parse(bound.Address), (int)bound.Port);
            GetClockResponse clock = await client.GetClockAsync(cancel);
            Stream stream;
            try
            {
                stream = File.Create(file.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--pcap: cannot create '{file.FullName}': {e.Message}");
            }
            return new Capture(new PcapWriter(stream), file.FullName, destination, clock.RealtimeMinusMonotonicNs);
        }

        /// <summary>Timestamp: the kernel's software stamp (wall clock) when there is one, else the best stamp moved to the wall clock.</summary>
        public void Write(ReceivedPacket packet)
        {
            long unixNs = packet.SoftwareStampNs != 0 ? packet.SoftwareStampNs
                : packet.MonotonicNs != 0 ? packet.MonotonicNs + realtimeMinusMonotonicNs
                : packet.WorkerMonotonicNs + realtimeMinusMonotonicNs;
            var source = new IPEndPoint(IPAddress.Parse(packet.Source.Address), (int)packet.Source.Port);
            writer.Write(unixNs, source, destination, packet.Payload.Span);
        }

        public void Dispose() => writer.Dispose();
    }
}
