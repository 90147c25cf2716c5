using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Daemon.Capture;
using RtUdp.Daemon.Limits;
using RtUdp.Daemon.Outcomes;
using RtUdp.V1;
using CoreState = RtUdp.Core.Contract.Channels.ChannelState;
using CoreStampSource = RtUdp.Core.Timestamping.StampSource;
using V1Received = RtUdp.V1.ReceivedPacket;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.PacketService: enqueues into a channel's TX ring and drains its RX ring, lock-free, no engine round trip.</summary>
public sealed partial class PacketApi(ApiContext api, CaptureRegistry captures, OutcomeHub outcomes, ClientTags tags) : PacketService.PacketServiceBase
{
    private const int MaxReceiveCount = 10_000;
    private static readonly TimeSpan MaxReceiveTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Longest a blocked drain waits before looking at cancellation and deletion again.</summary>
    private const long WaitSliceNs = 50_000_000;

    public override Task<SendResponse> Send(SendRequest request, ServerCallContext context)
    {
        api.RequireIntake();
        using ChannelEntry.Lease lease = api.Lease(request.Channel, "channel");
        ChannelEntry entry = lease.Entry;
        ChannelHandle handle = lease.Handle;
        long[] due = PacketTimes.Validate(request.Packets, "packets", entry.Config, api.Options.SchedulingHorizon);
        CheckAccepting(entry, handle);
        string client = ClientIdentity.Of(context);
        ClientQuotas.Reservation reservation = Reserve(client, entry, due, accepted: 0);
        (long[] ids, PacketIdRange? assigned) = PacketIds.Assign(entry, request.Packets);
        int tag = tags.Of(client);
        for (int i = 0; i < request.Packets.Count; i++)
        {
            OutgoingPacket packet = request.Packets[i];
            EnqueueResult result = handle.TryEnqueue(packet.Payload.Span, due[i], ids[i], signal: false, tag, Immediate(packet));
            if (result != EnqueueResult.Ok)
            {
                reservation.Keep(i);
                handle.Flush();
                throw result == EnqueueResult.Full
                    ? ApiErrors.RingFull(entry.Name, i, api.Options.RingFullRetryDelay)
                    : NotAccepting(entry, handle, i);
            }
        }
        handle.Flush();
        return Task.FromResult(new SendResponse
        {
            Accepted = request.Packets.Count,
            FirstDueMonotonicNs = due.Length > 0 ? due[0] : 0,
            LastDueMonotonicNs = due.Length > 0 ? due[^1] : 0,
            AssignedPacketIds = assigned,
        });
    }

    public override async Task<SendStreamResponse> SendStream(IAsyncStreamReader<SendStreamRequest> requestStream, ServerCallContext context)
    {
        CancellationToken cancellation = context.CancellationToken;
        ChannelEntry? entry = null;
        long accepted = 0;
        long fullWaits = 0;
        var waited = new Stopwatch();
        var assignedRanges = new Google.Protobuf.Collections.RepeatedField<PacketIdRange>();
        string client = ClientIdentity.Of(context);
        int tag = tags.Of(client);
        long sliceStart = Stopwatch.GetTimestamp();
        try
        {
            // One message at a time: while the ring is full this loop does not read, so HTTP/2 flow
            // control holds the client back. The lease is held per message, not while the stream is
            // idle, so a delete never waits for a quiet stream.
            while (await requestStream.MoveNext(cancellation))
            {
                SendStreamRequest message = requestStream.Current;
                if (entry is null)
                {
                    if (message.Channel.Length == 0)
                    {
                        throw ApiErrors.InvalidArgument("channel", "required in the stream's first message");
                    }
                    entry = api.FindLive(message.Channel, "channel");
                }
                else if (message.Channel.Length > 0 && message.Channel != entry.Name)
                {
                    throw ApiErrors.InvalidArgument("channel", $"a stream sends to one channel ({entry.Name})");
                }
                api.RequireIntake();
                if (api.Supervisor.Client is null)
                {
                    throw ApiErrors.EngineDown();
                }
                using ChannelEntry.Lease lease = api.Enter(entry);
                ChannelHandle handle = lease.Handle;
                long[] due = PacketTimes.Validate(message.Packets, "packets", entry.Config, api.Options.SchedulingHorizon);
                CheckAccepting(entry, handle);
                ClientQuotas.Reservation reservation = Reserve(client, entry, due, accepted);
                (long[] ids, PacketIdRange? assigned) = PacketIds.Assign(entry, message.Packets);
                PacketIds.Append(assignedRanges, assigned);
                long messageStart = accepted;
                for (int i = 0; i < message.Packets.Count; i++)
                {
                    OutgoingPacket packet = message.Packets[i];
                    TimeSpan backoff = TimeSpan.Zero;
                    while (true)
                    {
                        EnqueueResult result = handle.TryEnqueue(packet.Payload.Span, due[i], ids[i], signal: false, tag, Immediate(packet));
                        if (result == EnqueueResult.Ok)
                        {
                            accepted++;
                            break;
                        }
                        if (result != EnqueueResult.Full)
                        {
                            reservation.Keep(i);
                            handle.Flush();
                            throw NotAccepting(entry, handle, accepted);
                        }
                        // Full: let the worker take what is there, then wait for space, longer each time.
                        handle.Flush();
                        if (backoff == TimeSpan.Zero)
                        {
                            fullWaits++;
                        }
                        if (entry.Closing)
                        {
                            reservation.Keep((int)(accepted - messageStart));
                            throw ApiErrors.NotFound(entry.Name);
                        }
                        if (Detached(entry, handle) is { } lost)
                        {
                            reservation.Keep((int)(accepted - messageStart));
                            throw lost;
                        }
                        backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(1) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, api.Options.MaxStreamBackoff.Ticks));
                        waited.Start();
                        try
                        {
                            await Task.Delay(backoff, cancellation);
                        }
                        catch (OperationCanceledException)
                        {
                            // The client went away: what it had not enqueued goes back to its quota.
                            reservation.Keep((int)(accepted - messageStart));
                            throw;
                        }
                        waited.Stop();
                    }
                }
                handle.Flush();
                if (Stopwatch.GetElapsedTime(sliceStart) >= api.Options.StreamIntakeSlice)
                {
                    // Fair intake: the rest of this stream queues behind the calls that came meanwhile (Task.Yield
                    // goes to the pool's global queue), so one client's flood delays another's Send by a slice.
                    await Task.Yield();
                    sliceStart = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, $"Cancelled after {accepted} packet(s) were enqueued."));
        }
        var response = new SendStreamResponse { Accepted = accepted, FullWaits = fullWaits, Waited = Duration.FromTimeSpan(waited.Elapsed) };
        response.AssignedPacketIds.AddRange(assignedRanges);
        return response;
    }

    public override async Task<ReceiveResponse> Receive(ReceiveRequest request, ServerCallContext context)
    {
        var violations = new List<ApiErrors.Violation>();
        if (request.MaxCount is < 0 or > MaxReceiveCount)
        {
            violations.Add(new("max_count", $"must be 0 to {MaxReceiveCount}"));
        }
        TimeSpan? parsed = request.Timeout is null ? TimeSpan.Zero : ApiErrors.ToTimeSpan(request.Timeout, "timeout", violations);
        TimeSpan timeout = parsed ?? TimeSpan.Zero;
        if (parsed is not null && (timeout < TimeSpan.Zero || timeout > MaxReceiveTimeout))
        {
            violations.Add(new("timeout", "must be 0 to 60 s"));
        }
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        using ChannelEntry.Lease lease = api.Lease(request.Channel, "channel");
        ChannelEntry entry = lease.Entry;
        ChannelHandle handle = lease.Handle;
        CheckReceiving(entry, handle, captures);
        int max = request.MaxCount == 0 ? 1 : request.MaxCount;
        long timeoutNs = (long)(timeout.TotalMilliseconds * 1_000_000);
        CancellationToken cancellation = context.CancellationToken;
        List<V1Received> packets = timeoutNs == 0
            ? Drain(entry, handle, max, 0, captures, cancellation)
            : await Task.Factory.StartNew(() => Drain(entry, handle, max, timeoutNs, captures, cancellation), cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var response = new ReceiveResponse();
        response.Packets.AddRange(packets);
        return response;
    }

    public override async Task ReceiveStream(ReceiveStreamRequest request, IServerStreamWriter<ReceiveStreamResponse> responseStream, ServerCallContext context)
    {
        if (request.MaxBatch is < 0 or > MaxReceiveCount)
        {
            throw ApiErrors.InvalidArgument("max_batch", $"must be 0 to {MaxReceiveCount}");
        }
        using ChannelEntry.Lease lease = api.Lease(request.Channel, "channel");
        ChannelEntry entry = lease.Entry;
        ChannelHandle handle = lease.Handle;
        CheckReceiving(entry, handle, captures);
        int max = request.MaxBatch == 0 ? 64 : request.MaxBatch;
        CancellationToken cancellation = context.CancellationToken;

        // A thread of its own blocks on the RX ring's futex and hands batches over; the packets it has
        // not drained stay in the RX ring, where an overflow is counted.
        var batches = System.Threading.Channels.Channel.CreateBounded<List<V1Received>>(new System.Threading.Channels.BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var reader = new Thread(() =>
        {
            try
            {
                // Ends when the channel is deleted, fails or goes with its engine (the client may open a new stream).
                while (!stop.IsCancellationRequested && !entry.Closing && ReferenceEquals(entry.Handle, handle) && handle.State is not (CoreState.Deleted or CoreState.Failed))
                {
                    List<V1Received> batch = Drain(entry, handle, max, WaitSliceNs, captures, stop.Token);
                    if (batch.Count > 0)
                    {
                        batches.Writer.WriteAsync(batch, stop.Token).AsTask().GetAwaiter().GetResult();
                    }
                }
                batches.Writer.TryComplete();
            }
            catch (Exception e)
            {
                batches.Writer.TryComplete(e is OperationCanceledException ? null : e);
            }
        })
        {
            IsBackground = true,
            Name = "rtudp-rx-stream",
        };
        reader.Start();
        try
        {
            await foreach (List<V1Received> batch in batches.Reader.ReadAllAsync(cancellation))
            {
                var message = new ReceiveStreamResponse();
                message.Packets.AddRange(batch);
                await responseStream.WriteAsync(message, cancellation);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // The client went away: the stream is over.
        }
        finally
        {
            await stop.CancelAsync();
            reader.Join();
        }
    }

    /// <summary>Waits up to <paramref name="timeoutNs"/> for a first packet, then takes what is there, up to <paramref name="max"/>.</summary>
    private static List<V1Received> Drain(ChannelEntry entry, ChannelHandle handle, int max, long timeoutNs, CaptureRegistry captures, CancellationToken cancellation)
    {
        var packets = new List<V1Received>();
        byte[] buffer = new byte[handle.Config.MaxPayload];
        long deadline = Libc.MonotonicNow() + timeoutNs;
        while (packets.Count < max)
        {
            long wait = packets.Count > 0 ? 0 : Math.Clamp(deadline - Libc.MonotonicNow(), 0, WaitSliceNs);
            Core.EngineLink.ReceivedPacket? packet = handle.Receive(buffer, wait);
            if (packet is { } p)
            {
                packets.Add(ToProto(p, buffer));
                captures.Tee(entry, p, buffer); // a copy for the channel's capture, if one runs (never blocks)
                continue;
            }
            if (packets.Count > 0 || Libc.MonotonicNow() >= deadline || cancellation.IsCancellationRequested || entry.Closing)
            {
                break;
            }
            if (handle.DrainsSuspended)
            {
                // A same-host client took the RX ring while this call waited.
                ThrowIfShmReceiver(entry);
                break;
            }
        }
        return packets;
    }

    private static V1Received ToProto(Core.EngineLink.ReceivedPacket p, byte[] buffer)
    {
        var source = (CoreStampSource)p.StampSource;
        var packet = new V1Received
        {
            Payload = ByteString.CopyFrom(buffer, 0, p.Length),
            SoftwareStampNs = p.KernelRealtimeNs,
            HardwareStampNs = p.HardwareRawNs,
            MonotonicNs = p.BestMonotonicNs,
            StampSource = StampMapping.ToProto(source),
            ClockDomain = StampMapping.DomainOf(source),
            WorkerMonotonicNs = p.WorkerMonotonicNs,
            Sequence = p.Sequence,
            Coalesced = p.Coalesced,
        };
        if (p.Source is not null)
        {
            packet.Source = ChannelMapping.ToProto(p.Source);
        }
        if (p.KernelRealtimeNs != 0)
        {
            packet.SoftwareStamp = new Timestamp { Seconds = p.KernelRealtimeNs / 1_000_000_000, Nanos = (int)(p.KernelRealtimeNs % 1_000_000_000) };
        }
        return packet;
    }

    /// <summary>The call's packets from its client's quota (Limits:*); RESOURCE_EXHAUSTED with a QuotaFailure when over it.</summary>
    private ClientQuotas.Reservation Reserve(string client, ChannelEntry entry, long[] due, long accepted) =>
        api.Quotas is { } quotas
            ? quotas.Reserve(client, entry.Name, due, accepted, () => entry.CountQuotaRefusal(due.Length))
            : default;

    /// <summary>Sent without a time: due when it arrived, so never "arrived late".</summary>
    private static bool Immediate(OutgoingPacket packet) => packet.TimeCase == OutgoingPacket.TimeOneofCase.None;

    private void CheckAccepting(ChannelEntry entry, ChannelHandle handle)
    {
        if (!entry.Config.Sends)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "the channel does not send (direction RECEIVE)", "DIRECTION");
        }
        CoreState state = handle.State;
        if (state is not (CoreState.Created or CoreState.Running))
        {
            throw Detached(entry, handle) ?? ApiErrors.FailedPrecondition(entry.Name, $"the channel is {state.ToString().ToLowerInvariant()}; it accepts packets only when created or running");
        }
    }

    private static void CheckReceiving(ChannelEntry entry, ChannelHandle handle, CaptureRegistry captures)
    {
        if (!entry.Config.Receives)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "the channel does not receive (direction SEND)", "DIRECTION");
        }
        if (captures.IsExclusive(entry))
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "an EXCLUSIVE capture is draining the channel; stop it to receive", "CAPTURE");
        }
        ThrowIfShmReceiver(entry);
        CoreState state = handle.State;
        if (state is not (CoreState.Created or CoreState.Running) && handle.ReadStats().Buffered == 0)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, $"the channel is {state.ToString().ToLowerInvariant()} and nothing received is left to drain");
        }
    }

    /// <summary>A same-host client receives every packet of the channel (docs/shm-clients.md): gRPC gets none while it is attached.</summary>
    private static void ThrowIfShmReceiver(ChannelEntry entry)
    {
        if (entry.ShmReceiver is { } client)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, $"a same-host client ({client}) receives on the channel over shared memory; gRPC receiving resumes when it detaches", "SHM_RECEIVER");
        }
    }

    /// <summary>
    /// UNAVAILABLE when the handle is no longer the channel's (its engine died meanwhile and marked it
    /// failed): the channel itself did not fail, and a retry after the restore succeeds.
    /// </summary>
    private RpcException? Detached(ChannelEntry entry, ChannelHandle handle)
    {
        if (api.Supervisor.Client is null)
        {
            return ApiErrors.EngineDown();
        }
        return ReferenceEquals(entry.Handle, handle) ? null : ApiErrors.ChannelLost(entry.Name, entry.DetachedReason ?? "engine restarted");
    }

    private RpcException NotAccepting(ChannelEntry entry, ChannelHandle handle, long accepted) =>
        Detached(entry, handle) ?? ApiErrors.FailedPrecondition(entry.Name, $"the channel stopped accepting packets ({handle.State.ToString().ToLowerInvariant()}) after {accepted} were enqueued");
}
