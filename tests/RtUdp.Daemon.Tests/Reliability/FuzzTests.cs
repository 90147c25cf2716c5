using System.Globalization;
using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;
using Xunit.Abstractions;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Bad input: 10,000 random and boundary requests to every RPC of the API, then undecodable protobuf bytes
/// to every method and malformed gRPC framing, against the real daemon. Each call has a deadline (a hang
/// fails it as DEADLINE_EXCEEDED); each answer must be OK or a documented status with its detail
/// (INVALID_ARGUMENT with a BadRequest naming the field, NOT_FOUND with a ResourceInfo, ...), never UNKNOWN
/// or INTERNAL, except for bytes that do not decode: grpc-dotnet answers those itself, before the service
/// runs, with UNKNOWN ("Exception was thrown by handler.") or INTERNAL (see docs/reliability.md).
/// After it all the daemon still serves: health SERVING, a real packet goes through, the books balance.
/// The seed is printed and named in every failure; RTUDP_FUZZ_SEED replays one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FuzzTests(ITestOutputHelper output)
{
    /// <summary>10,000 unless RTUDP_FUZZ_REQUESTS says otherwise (to replay a seed quickly).</summary>
    private static readonly int Requests = Environment.GetEnvironmentVariable("RTUDP_FUZZ_REQUESTS") is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 10_000;
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(15);

    private static readonly StatusCode[] Documented =
        [StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.AlreadyExists, StatusCode.FailedPrecondition, StatusCode.ResourceExhausted, StatusCode.PermissionDenied];

    [Fact]
    public async Task Ten_thousand_random_and_boundary_requests_get_documented_statuses_and_the_daemon_keeps_serving()
    {
        int seed = Environment.GetEnvironmentVariable("RTUDP_FUZZ_SEED") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        output.WriteLine($"fuzz seed {seed} (replay: RTUDP_FUZZ_SEED={seed})");
        await using OwnedDaemon daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync("fuzz-rx");
        Channel tx = await api.CreateSenderAsync("fuzz-tx", rx.BoundLocal);
        var fuzz = new RequestFuzzer(new Random(seed), [tx.Name, rx.Name]);
        var counts = new Dictionary<string, int>();
        var created = new List<string>();

        for (int i = 0; i < Requests; i++)
        {
            if (i % 500 == 0)
            {
                Console.Error.WriteLine($"fuzz: request #{i}");
            }
            int rpc = fuzz.Random.Next(16);
            (string what, Func<CallOptions, Task> call) = Build(api, fuzz, rpc, created);
            StatusCode code = await Check(what, call, seed, i, daemon);
            string key = $"{what} {code}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
            // Channels the fuzzer managed to create go at once (the machine is shared); their books must balance.
            foreach (string name in created)
            {
                DeleteChannelResponse deleted = await api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = name }, deadline: DateTime.UtcNow + CallDeadline);
                DaemonAccounting.AssertFinalBalanced(deleted);
            }
            created.Clear();
        }
        output.WriteLine(string.Join('\n', counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}")));

        await MalformedBytesToEveryMethod(daemon, fuzz, seed);
        await MalformedFraming(daemon);
        await AssertStillServingAsync(daemon, api, tx, rx, seed);
    }

    /// <summary>One random request to RPC number <paramref name="rpc"/>.</summary>
    private static (string What, Func<CallOptions, Task> Call) Build(Clients api, RequestFuzzer fuzz, int rpc, List<string> created)
    {
        switch (rpc)
        {
            case 0:
                return ("CreateChannel", async o =>
                {
                    var request = new CreateChannelRequest { ChannelId = fuzz.Chance(0.5) ? "fuzz-" + fuzz.Random.Next(1000) : fuzz.Id(), Start = fuzz.Chance(0.5) };
                    if (fuzz.Chance(0.95))
                    {
                        request.Channel = fuzz.Chance(0.3) ? fuzz.NearlyValidChannel() : fuzz.Channel();
                    }
                    Channel c = (await api.Channels.CreateChannelAsync(request, o)).Channel;
                    created.Add(c.Name);
                });
            case 1: return ("GetChannel", async o => await api.Channels.GetChannelAsync(new GetChannelRequest { Name = fuzz.Name() }, o));
            case 2: return ("ListChannels", async o => await api.Channels.ListChannelsAsync(new ListChannelsRequest { PageSize = fuzz.Int(), PageToken = fuzz.Chance(0.5) ? "" : fuzz.Garbage() }, o));
            case 3: return ("DeleteChannel", async o => await api.Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = fuzz.Chance(0.5) ? "channels/" + fuzz.Id() : fuzz.Garbage() }, o));
            case 4: return ("StartChannel", async o => await api.Channels.StartChannelAsync(new StartChannelRequest { Name = fuzz.Name() }, o));
            case 5: return ("StopChannel", async o => await api.Channels.StopChannelAsync(new StopChannelRequest { Name = fuzz.Name() }, o));
            case 6 or 7:
                return ("Send", async o =>
                {
                    var request = new SendRequest { Channel = fuzz.Name() };
                    request.Packets.AddRange(fuzz.Packets());
                    await api.Packets.SendAsync(request, o);
                });
            case 8:
                return ("SendStream", async o =>
                {
                    using AsyncClientStreamingCall<SendStreamRequest, SendStreamResponse> call = api.Packets.SendStream(o);
                    // A message the server refused (e.g. beyond its 4 MiB limit) ends the call while the client
                    // may still be pushing its bytes: the client's write then waits for HTTP/2 flow-control credit
                    // that never comes, and SocketsHttpHandler does not end that wait at the call's deadline.
                    // So the writes have a guard of their own; the server's answer is in ResponseAsync, under the deadline.
                    using var writes = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                    try
                    {
                        for (int m = fuzz.Random.Next(1, 4); m > 0; m--)
                        {
                            var message = new SendStreamRequest { Channel = fuzz.Chance(0.3) ? "" : fuzz.Name() };
                            message.Packets.AddRange(fuzz.Packets());
                            await call.RequestStream.WriteAsync(message, writes.Token);
                        }
                        await call.RequestStream.CompleteAsync();
                    }
                    catch (RpcException)
                    {
                        // The server ended the call early (a refused first message): its status is in the response.
                    }
                    catch (Exception e) when (e is InvalidOperationException or IOException)
                    {
                        // Writing after the call completed (the request aborted): same.
                    }
                    catch (OperationCanceledException) when (writes.IsCancellationRequested)
                    {
                        // The write guard (above).
                    }
                    await call.ResponseAsync;
                });
            case 9:
                return ("Receive", async o => await api.Packets.ReceiveAsync(new ReceiveRequest
                {
                    Channel = fuzz.Name(),
                    MaxCount = fuzz.Chance(0.5) ? fuzz.Random.Next(0, 10) : fuzz.Int(),
                    Timeout = fuzz.Chance(0.3) ? null : fuzz.Duration(TimeSpan.FromMilliseconds(20)),
                }, o));
            case 10:
                return ("ReceiveStream", async o =>
                {
                    using var cancel = CancellationTokenSource.CreateLinkedTokenSource(o.CancellationToken);
                    using AsyncServerStreamingCall<ReceiveStreamResponse> call = api.Packets.ReceiveStream(new ReceiveStreamRequest { Channel = fuzz.Name(), MaxBatch = fuzz.Chance(0.5) ? fuzz.Random.Next(0, 100) : fuzz.Int() }, o.WithCancellationToken(cancel.Token));
                    cancel.CancelAfter(TimeSpan.FromMilliseconds(30));
                    await Drain(call.ResponseStream, cancel.Token);
                });
            case 11: return ("GetStats", async o => await api.Stats.GetStatsAsync(new GetStatsRequest { Name = fuzz.Name() }, o));
            case 12:
                return ("GetHistogram", async o =>
                {
                    var request = new GetHistogramRequest { Name = fuzz.Name(), Kind = fuzz.Enum<HistogramKind>() };
                    for (int p = fuzz.Random.Next(4); p > 0; p--)
                    {
                        request.Percentiles.Add(fuzz.Pick(new[] { 0, 50, 99.99, 100, -0.0001, 100.0001, double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon }));
                    }
                    await api.Stats.GetHistogramAsync(request, o);
                });
            case 13:
                return ("WatchStats", async o =>
                {
                    using var cancel = CancellationTokenSource.CreateLinkedTokenSource(o.CancellationToken);
                    using AsyncServerStreamingCall<WatchStatsResponse> call = api.Stats.WatchStats(new WatchStatsRequest { Name = fuzz.Name(), Interval = fuzz.Chance(0.3) ? null : fuzz.Duration(TimeSpan.FromMilliseconds(50)) }, o.WithCancellationToken(cancel.Token));
                    cancel.CancelAfter(TimeSpan.FromMilliseconds(30));
                    await Drain(call.ResponseStream, cancel.Token);
                });
            case 14: return ("GetClock", async o => await api.Clock.GetClockAsync(new GetClockRequest(), o));
            default: return ("GetCapabilities", async o => await api.Capabilities.GetCapabilitiesAsync(new GetCapabilitiesRequest(), o));
        }
    }

    private static async Task Drain<T>(IAsyncStreamReader<T> stream, CancellationToken cancellation)
    {
        try
        {
            while (await stream.MoveNext(cancellation))
            {
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellation.IsCancellationRequested)
        {
            // Our own cancellation ends a stream that would go on.
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs the call with a deadline; its status must be OK or documented, with the detail that status carries.</summary>
    private static async Task<StatusCode> Check(string what, Func<CallOptions, Task> call, int seed, int index, OwnedDaemon daemon)
    {
        string where = $"request #{index} ({what}), seed {seed} (RTUDP_FUZZ_SEED={seed})";
        try
        {
            await call(new CallOptions(deadline: DateTime.UtcNow + CallDeadline));
            return StatusCode.OK;
        }
        catch (RpcException e) when ((e.StatusCode == StatusCode.Internal && e.Status.Detail.Contains("The HTTP/2 server closed the connection", StringComparison.Ordinal))
            || (e.StatusCode == StatusCode.Unavailable && e.Status.Detail.Contains("Error reading next message. IOException: The request was aborted.", StringComparison.Ordinal)))
        {
            // (A stream reading its next message when that happens fails as UNAVAILABLE "Error reading next
            // message. IOException: The request was aborted.": seed 1743823543, request #836, a WatchStats.)
            // Not this request's answer: an earlier over-size SendStream message made the server reset its stream
            // while SocketsHttpHandler kept sending DATA on it, and Kestrel closes the whole HTTP/2 connection for
            // that (STREAM_CLOSED). The client fails the calls in flight on it; the daemon serves on (checked at the end).
            return StatusCode.Unavailable;
        }
        catch (RpcException e)
        {
            Assert.True(Documented.Contains(e.StatusCode), $"{where}: undocumented status {e.StatusCode}: {e.Status.Detail}\n{daemon.Log}");
            Google.Rpc.Status? status = e.GetRpcStatus();
            if (e.StatusCode == StatusCode.InvalidArgument)
            {
                BadRequest? bad = status?.GetDetail<BadRequest>();
                Assert.True(bad is { FieldViolations.Count: > 0 } && bad.FieldViolations.All(v => v.Field.Length > 0 && v.Description.Length > 0), $"{where}: INVALID_ARGUMENT without a BadRequest naming the field: {e.Status.Detail}");
            }
            else if (e.StatusCode == StatusCode.NotFound)
            {
                Assert.True(status?.GetDetail<ResourceInfo>() is not null, $"{where}: NOT_FOUND without a ResourceInfo: {e.Status.Detail}");
            }
            Assert.False(string.IsNullOrWhiteSpace(e.Status.Detail), $"{where}: {e.StatusCode} without a message");
            return e.StatusCode;
        }
    }

    /// <summary>Every method of every service, called with bytes that do not decode as its request.</summary>
    private async Task MalformedBytesToEveryMethod(OwnedDaemon daemon, RequestFuzzer fuzz, int seed)
    {
        using GrpcChannel channel = daemon.NewUnixChannel();
        CallInvoker invoker = channel.CreateCallInvoker();
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        Google.Protobuf.Reflection.ServiceDescriptor[] services =
        [
            ChannelService.Descriptor, PacketService.Descriptor, StatsService.Descriptor, ClockService.Descriptor, CapabilityService.Descriptor, Health.Descriptor,
        ];
        var seen = new Dictionary<StatusCode, int>();
        foreach (Google.Protobuf.Reflection.MethodDescriptor m in services.SelectMany(s => s.Methods))
        {
            for (int round = 0; round < 20; round++)
            {
                byte[] body = fuzz.Malformed();
                MethodType type = (m.IsClientStreaming, m.IsServerStreaming) switch
                {
                    (false, false) => MethodType.Unary,
                    (true, false) => MethodType.ClientStreaming,
                    (false, true) => MethodType.ServerStreaming,
                    _ => MethodType.DuplexStreaming,
                };
                var method = new Method<byte[], byte[]>(type, m.Service.FullName, m.Name, bytes, bytes);
                using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                var options = new CallOptions(deadline: DateTime.UtcNow + CallDeadline, cancellationToken: type == MethodType.ServerStreaming ? cancel.Token : default);
                StatusCode code;
                try
                {
                    switch (type)
                    {
                        case MethodType.Unary:
                            await invoker.AsyncUnaryCall(method, null, options, body);
                            break;
                        case MethodType.ClientStreaming:
                            {
                                using AsyncClientStreamingCall<byte[], byte[]> call = invoker.AsyncClientStreamingCall(method, null, options);
                                try
                                {
                                    await call.RequestStream.WriteAsync(body);
                                    await call.RequestStream.CompleteAsync();
                                }
                                catch (Exception e) when (e is RpcException or InvalidOperationException)
                                {
                                }
                                await call.ResponseAsync;
                                break;
                            }
                        default:
                            {
                                using AsyncServerStreamingCall<byte[]> call = invoker.AsyncServerStreamingCall(method, null, options, body);
                                await Drain(call.ResponseStream, cancel.Token);
                                break;
                            }
                    }
                    code = StatusCode.OK;
                }
                catch (RpcException e)
                {
                    code = e.StatusCode;
                    // Undecodable bytes: INTERNAL ("Failed to deserialize"), gRPC's status for an unparseable
                    // message; bytes that happen to decode: a documented status like any request.
                    // grpc-dotnet parses a unary or server-streaming request before any interceptor runs and answers
                    // a parser exception with UNKNOWN "Exception was thrown by handler." (INTERNAL for framing errors).
                    Assert.True(Documented.Contains(code) || code == StatusCode.Internal || (code == StatusCode.Unknown && e.Status.Detail == "Exception was thrown by handler."),
                        $"{m.FullName} with malformed bytes {Convert.ToHexString(body)}: {code}: {e.Status.Detail} (seed {seed})\n{daemon.Log}");
                }
                seen[code] = seen.GetValueOrDefault(code) + 1;
            }
        }
        output.WriteLine("malformed bytes: " + string.Join(", ", seen.Select(kv => $"{kv.Key} {kv.Value}")));
    }

    /// <summary>Raw HTTP/2 requests whose gRPC framing is wrong: each is answered with a gRPC error status, none takes the daemon down.</summary>
    private async Task MalformedFraming(OwnedDaemon daemon)
    {
        using var client = new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact, Timeout = CallDeadline };
        byte[][] bodies =
        [
            [1, 0, 0, 0, 3, 1, 2, 3],          // compressed flag without a grpc-encoding
            [0, 0xFF, 0xFF, 0xFF, 0xFF],       // a 4 GiB message announced
            [0, 0, 0, 0, 10, 1, 2, 3],         // shorter than announced
            [0, 0, 0],                         // a truncated frame header
            [7, 0, 0, 0, 0],                   // an unknown flag
        ];
        foreach (byte[] body in bodies)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(daemon.Fixture.TcpAddress, "/rtudp.v1.PacketService/Send")) { Content = new ByteArrayContent(body), Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("te", "trailers");
            using HttpResponseMessage response = await client.SendAsync(request);
            _ = await response.Content.ReadAsByteArrayAsync();
            string? status = response.TrailingHeaders.TryGetValues("grpc-status", out IEnumerable<string>? t) ? t.First()
                : response.Headers.TryGetValues("grpc-status", out IEnumerable<string>? h) ? h.First() : null;
            output.WriteLine($"framing {Convert.ToHexString(body)}: HTTP {(int)response.StatusCode}, grpc-status {status}");
            Assert.True(status is not null && status != "0", $"framing {Convert.ToHexString(body)}: expected a gRPC error, got HTTP {(int)response.StatusCode} grpc-status {status}");
        }
    }

    private static async Task AssertStillServingAsync(OwnedDaemon daemon, Clients api, Channel tx, Channel rx, int seed)
    {
        Assert.False(daemon.Fixture.Process.HasExited, $"rtudpd died (seed {seed}):\n{daemon.Log}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await new Health.HealthClient(daemon.Fixture.Unix).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow + CallDeadline)).Status);
        // The fuzzer may have stopped them; a real packet still goes through.
        foreach (Channel c in new[] { rx, tx })
        {
            if ((await api.Channels.GetChannelAsync(new GetChannelRequest { Name = c.Name }, deadline: DateTime.UtcNow + CallDeadline)).Channel.State != ChannelState.Running)
            {
                await api.Channels.StartChannelAsync(new StartChannelRequest { Name = c.Name }, deadline: DateTime.UtcNow + CallDeadline);
            }
        }
        while ((await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 10_000 }, deadline: DateTime.UtcNow + CallDeadline)).Packets.Count > 0)
        {
        }
        byte[] marker = System.Text.Encoding.UTF8.GetBytes($"after fuzz {seed}");
        await api.Packets.SendAsync(new SendRequest { Channel = tx.Name, Packets = { new OutgoingPacket { Payload = ByteString.CopyFrom(marker) } } }, deadline: DateTime.UtcNow + CallDeadline);
        bool found = false;
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!found && DateTime.UtcNow < deadline)
        {
            ReceiveResponse r = await api.Packets.ReceiveAsync(new ReceiveRequest { Channel = rx.Name, MaxCount = 10_000, Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(200)) }, deadline: DateTime.UtcNow + CallDeadline);
            found = r.Packets.Any(p => p.Payload.Span.SequenceEqual(marker));
        }
        Assert.True(found, $"a real packet did not arrive after the fuzzing (seed {seed})");
        await DaemonAccounting.AssertBalancedAsync(api, tx.Name, rx.Name);
        await DaemonAccounting.DeleteBalancedAsync(api, tx.Name, rx.Name);
    }
}
