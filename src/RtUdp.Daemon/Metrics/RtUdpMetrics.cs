using System.Globalization;
using System.Reflection;
using Prometheus;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Engine;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;
using RtUdp.Daemon.Capture;
using RtUdp.Daemon.Generators;
using RtUdp.Daemon.Engine;
using RtUdp.Daemon.Hosting;

namespace RtUdp.Daemon.Metrics;

/// <summary>
/// The daemon's Prometheus metrics, in a registry of their own. Nothing is counted per packet: just
/// before each scrape (<see cref="CollectorRegistry.AddBeforeCollectCallback(Action)"/>) every value is
/// read from the engine's shared memory (channel counters, errno tables, worker health words,
/// histograms, the control block), as GetStats does, and series that were not read again (deleted or
/// detached channels, changed info labels) are removed.
/// </summary>
public sealed class RtUdpMetrics
{
    private static readonly string[] ChannelLabels = ["channel", "engine_id"];
    private static readonly (ChannelHistogram Kind, string Stage)[] Stages =
    [
        (ChannelHistogram.StageWake, "wake"),
        (ChannelHistogram.StageSendCall, "send_call"),
        (ChannelHistogram.StageSched, "sched"),
        (ChannelHistogram.StageSoftware, "software"),
        (ChannelHistogram.StageHardware, "hardware"),
    ];

    private static readonly (RealtimeMode Flag, string Name)[] RealtimeFlags =
    [
        (RealtimeMode.Pinned, "pinned"),
        (RealtimeMode.Fifo, "fifo"),
        (RealtimeMode.MemoryLocked, "memory_locked"),
        (RealtimeMode.TightTimerSlack, "tight_timer_slack"),
        (RealtimeMode.Confined, "confined"),
        (RealtimeMode.NoCpuLeft, "no_cpu_left"),
        (RealtimeMode.Degraded, "degraded"),
    ];

    private readonly EngineSupervisor _supervisor;
    private readonly ChannelRegistry _channels;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ScrapedCounter> _counters = new(StringComparer.Ordinal);
    private readonly ScrapedGauge _pending, _buffered, _channelState, _channelAttached, _channelMode, _channelDataPath, _pathMtu, _clientsAttached, _channelDegraded;
    private readonly ScrapedGauge _workerRunning, _workerRealtime, _workerHeartbeatAge;
    private readonly GeneratorRegistry _generators;
    private readonly CaptureRegistry _captures;
    private readonly ScrapedHistogram _sendError, _delivery, _stage, _oneWay, _jitter, _roundTrip;
    private readonly ScrapedCounter _generatorPackets, _generatorFullWaits, _captureWritten, _captureDropped;
    private readonly ScrapedGauge _engineUp, _engineStalled, _engineHeartbeatAge, _engineChannels, _engineMemoryLocked, _engineAllocated;
    private readonly ScrapedCounter _engineCollections, _engineRestarts, _engineStallRestarts, _engineLost, _outcomesDelivered, _outcomesMissed;

    internal RtUdpMetrics(EngineSupervisor supervisor, ChannelRegistry channels, GeneratorRegistry generators, CaptureRegistry captures)
    {
        _supervisor = supervisor;
        _channels = channels;
        _generators = generators;
        _captures = captures;
        // prometheus-net's default registry (never served here) would start its EventCounter and Meter
        // listeners, which observe every request: suppressed, and the daemon's own stats registered below.
        Prometheus.Metrics.SuppressDefaultMetrics();
        Registry = Prometheus.Metrics.NewCustomRegistry();
        // The daemon's own process and .NET runtime (process_*, dotnet_*); the engine's are the rtudp_engine_* below.
        DotNetStats.Register(Registry);
        IMetricFactory factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        foreach (ChannelCounterMetrics.Metric metric in ChannelCounterMetrics.All)
        {
            string[] labels = metric.LabelName is null ? ChannelLabels : [.. ChannelLabels, metric.LabelName];
            _counters[metric.Name] = new ScrapedCounter(factory.CreateCounter(metric.Name, metric.Help, labels));
        }
        _pending = Gauge(factory, "rtudp_tx_pending_packets", "Packets enqueued and not yet sent or dropped (ring and schedule).");
        _buffered = Gauge(factory, "rtudp_rx_buffered_packets", "Received packets in the RX ring not yet drained.");
        _channelDegraded = Gauge(factory, "rtudp_channel_degraded", "1 for each setting the channel runs with other than asked because the host does not give it (e.g. priority: SCHED_OTHER for a SCHED_FIFO priority beyond RLIMIT_RTPRIO); the channel's notes (GetChannel, rtudpctl channels ls) say what was asked and what is in effect.", "setting");
        _pathMtu = Gauge(factory, "rtudp_tx_path_mtu_bytes", "The path MTU the kernel reported at the channel's last EMSGSIZE (absent before one).");
        _clientsAttached = Gauge(factory, "rtudp_channel_shm_clients", "Same-host clients attached to the channel over shared memory (librtudp).");
        _channelState = Gauge(factory, "rtudp_channel_state", "1 for the channel's current state (created, running, stopped, ...).", "state");
        _channelAttached = Gauge(factory, "rtudp_channel_attached", "1 while the channel is attached to the running engine, 0 while detached (engine down or restore failed).");
        _channelMode = Gauge(factory, "rtudp_channel_mode_info", "1, labelled with the timestamping and launch-time clock in effect (unknown before the channel is planned), the egress interface and its root qdisc.", "timestamps", "launch_clock", "interface", "qdisc");
        _channelDataPath = Gauge(factory, "rtudp_channel_data_path_info", "1, labelled with how the channel's packets leave and arrive, as in effect: gso (trains, off, fell_back), gro (on, off), receive_wait (poll, spin, kernel_busy_poll), traffic (timed, bulk) and path (socket, xdp_copy, xdp_zero_copy).", "gso", "gro", "receive_wait", "traffic", "path");
        _workerRunning = Gauge(factory, "rtudp_worker_running", "1 while the worker runs, 0 when it stopped or failed (workers that never started are absent).", "worker");
        _workerRealtime = Gauge(factory, "rtudp_worker_realtime_mode", "1 for each real-time measure in effect for the worker (pinned, fifo, memory_locked, tight_timer_slack; degraded: one asked for could not be applied), else 0.", "worker", "mode");
        _workerHeartbeatAge = Gauge(factory, "rtudp_worker_heartbeat_age_seconds", "Time since the running worker's last heartbeat (it beats at least every 100 ms).", "worker");

        var latency = new HistogramConfiguration { Buckets = LatencyBuckets.Bounds };
        _sendError = new ScrapedHistogram(factory.CreateHistogram("rtudp_tx_send_error_seconds", "Actual send time minus scheduled time, from the best stamp. Observed from the engine's HDR histogram at scrape: bucket midpoints (see README).", ChannelLabels, latency));
        _delivery = new ScrapedHistogram(factory.CreateHistogram("rtudp_rx_delivery_seconds", "Drain time minus the packet's best RX stamp. Observed from the engine's HDR histogram at scrape.", ChannelLabels, latency));
        _stage = new ScrapedHistogram(factory.CreateHistogram("rtudp_tx_stage_seconds", "Send path stages: wake (scheduled time to worker wake-up), send_call (to sendmmsg), sched (to the qdisc), software (to the driver), hardware (to the wire).", [.. ChannelLabels, "stage"], latency));
        _oneWay = new ScrapedHistogram(factory.CreateHistogram("rtudp_flow_one_way_seconds", "Sequenced flows: arrival (best RX stamp) minus the header's send time, where the clocks compare (same host, or TAI between PTP-synchronised hosts).", ChannelLabels, latency));
        _jitter = new ScrapedHistogram(factory.CreateHistogram("rtudp_flow_jitter_seconds", "Sequenced flows: RFC 3550 interarrival jitter after each packet.", ChannelLabels, latency));
        _roundTrip = new ScrapedHistogram(factory.CreateHistogram("rtudp_flow_round_trip_seconds", "Sequenced duplex channel facing a reflector: arrival of its own packet minus its send time.", ChannelLabels, latency));

        _generatorPackets = new ScrapedCounter(factory.CreateCounter("rtudp_generator_packets_total", "Packets a generator's schedule produced, by outcome: enqueued (in the TX ring), enqueued_late (of those, after their due time), rejected_not_accepting, rejected_too_large.", ["channel", "generator", "outcome"]));
        _generatorFullWaits = new ScrapedCounter(factory.CreateCounter("rtudp_generator_full_waits_total", "Times a generator found the TX ring full and waited for space (nothing is dropped).", ["channel", "generator"]));
        _outcomesDelivered = new ScrapedCounter(factory.CreateCounter("rtudp_outcomes_delivered_total", "Per-packet outcomes streamed to WatchOutcomes subscribers (each subscriber's count).", ChannelLabels));
        _outcomesMissed = new ScrapedCounter(factory.CreateCounter("rtudp_outcomes_missed_total", "Per-packet outcomes WatchOutcomes subscribers missed (told by a gap record): behind, or lost in the engine's report ring (once per subscriber).", ChannelLabels));
        _captureWritten = new ScrapedCounter(factory.CreateCounter("rtudp_capture_packets_written_total", "Packets a capture wrote to its pcapng file.", ["channel", "capture"]));
        _captureDropped = new ScrapedCounter(factory.CreateCounter("rtudp_capture_packets_dropped_total", "Packets a capture left out of its file because its writer's queue was full.", ["channel", "capture"]));

        _engineUp = new ScrapedGauge(factory.CreateGauge("rtudp_engine_up", "1 while the engine process runs, serves and advances; 0 while it is down, restarting or stalled (health is NOT_SERVING then)."));
        _engineStalled = new ScrapedGauge(factory.CreateGauge("rtudp_engine_stalled", "1 while the engine's conductor or a running channel's worker has gone without a heartbeat past Engine:StallTimeout; 0 otherwise (also while the engine is down)."));
        _engineHeartbeatAge = new ScrapedGauge(factory.CreateGauge("rtudp_engine_heartbeat_age_seconds", "Time since the engine conductor's last heartbeat (NaN while the engine is down, as the other engine gauges)."));
        _engineChannels = new ScrapedGauge(factory.CreateGauge("rtudp_engine_channels", "Channels the engine holds."));
        _engineMemoryLocked = new ScrapedGauge(factory.CreateGauge("rtudp_engine_memory_locked", "1 when the engine's memory is locked (mlockall)."));
        _engineCollections = new ScrapedCounter(factory.CreateCounter("rtudp_engine_gc_collections_total", "Garbage collections in the running engine process, by generation (it should allocate nothing after start-up).", ["generation"]));
        // A gauge, not a counter: it starts again from zero with each engine process and has no label to reset by.
        _cpuOwner = new ScrapedGauge(factory.CreateGauge("rtudp_cpu_owner", "1 for each pinned worker owning a CPU in the engine's CPU plan (more than one channel on a CPU: shared, CHANNEL_FLAG_SHARE_CPU).", ["cpu", "channel", "worker"]));
        _cpuRole = new ScrapedGauge(factory.CreateGauge("rtudp_cpu_plan_info", "1 for each role a CPU has in the engine's CPU plan: unpinned (unpinned workers run there at SCHED_FIFO), unpinned_sched_other (every CPU owned: they run there at SCHED_OTHER), housekeeping (Engine:HousekeepingCpus), rtudpd, conductor.", ["cpu", "role"]));
        _engineAllocated = new ScrapedGauge(factory.CreateGauge("rtudp_engine_allocated_bytes", "Bytes the running engine process has allocated on its managed heap since it started (flat after start-up)."));
        _engineRestarts = new ScrapedCounter(factory.CreateCounter("rtudp_engine_restarts_total", "Times the engine died and the daemon started it again."));
        _engineStallRestarts = new ScrapedCounter(factory.CreateCounter("rtudp_engine_stall_restarts_total", "Of the engine restarts, those after the daemon killed a stalled engine (stalled past Engine:StallRestartTimeout)."));
        _engineLost = new ScrapedCounter(factory.CreateCounter("rtudp_engine_lost_packets_total", "Packets lost with dead engines: tx (queued), rx (received, not drained).", ["direction"]));

        string version = typeof(RtUdpMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        factory.CreateGauge("rtudp_build_info", "1, labelled with rtudpd's version and the .NET runtime.", ["version", "runtime"])
            .WithLabels(version, Environment.Version.ToString()).Set(1);

        PrivilegeSeparation separation = supervisor.PrivilegeSeparation;
        factory.CreateGauge("rtudp_privilege_separation", "1 when rtudpd holds none of the engine's capabilities (CAP_SYS_NICE, CAP_IPC_LOCK, CAP_NET_ADMIN), else 0; labelled with how: launcher (the packaged unit), file_capabilities, root, not_ambient.", ["mode"])
            .WithLabels(separation.Mode).Set(separation.Separated ? 1 : 0);

        Registry.AddBeforeCollectCallback(Collect);
    }

    /// <summary>The registry /metrics serves.</summary>
    public CollectorRegistry Registry { get; }

    private readonly ScrapedGauge _cpuOwner;
    private readonly ScrapedGauge _cpuRole;

    private static ScrapedGauge Gauge(IMetricFactory factory, string name, string help, params string[] extraLabels) =>
        new(factory.CreateGauge(name, help, [.. ChannelLabels, .. extraLabels]));

    private void Collect()
    {
        lock (_lock)
        {
            long now = Libc.MonotonicNow();
            CollectEngine(now);
            foreach (ChannelEntry entry in _channels.List())
            {
                CollectChannel(entry, now);
            }
            CollectGenerators();
            CollectCaptures();
            foreach (ScrapedCounter counter in _counters.Values)
            {
                counter.Sweep();
            }
            foreach (ScrapedGauge gauge in new[] { _cpuOwner, _cpuRole, _pending, _buffered, _pathMtu, _clientsAttached, _channelDegraded, _channelState, _channelAttached, _channelMode, _channelDataPath, _workerRunning, _workerRealtime, _workerHeartbeatAge, _engineUp, _engineStalled, _engineHeartbeatAge, _engineChannels, _engineMemoryLocked, _engineAllocated })
            {
                gauge.Sweep();
            }
            foreach (ScrapedHistogram histogram in new[] { _sendError, _delivery, _stage, _oneWay, _jitter, _roundTrip })
            {
                histogram.Sweep();
            }
            foreach (ScrapedCounter counter in new[] { _engineCollections, _engineRestarts, _engineStallRestarts, _engineLost, _outcomesDelivered, _outcomesMissed, _generatorPackets, _generatorFullWaits, _captureWritten, _captureDropped })
            {
                counter.Sweep();
            }
        }
    }

    private void CollectEngine(long now)
    {
        _engineRestarts.Set(_supervisor.Restarts);
        _engineStallRestarts.Set(_supervisor.StallRestarts);
        _engineLost.Set(_supervisor.LostTxPackets, "tx");
        _engineLost.Set(_supervisor.LostRxPackets, "rx");
        EngineHealth? health = null;
        EngineConnection? client = _supervisor.Client;
        if (client is not null)
        {
            try
            {
                health = client.ReadHealth();
            }
            catch (ObjectDisposedException)
            {
                // The engine died between the two reads: reported down.
            }
        }
        bool stalled = health is not null && _supervisor.Stall is not null;
        _engineUp.Set(health is not null && !stalled ? 1 : 0);
        _engineStalled.Set(stalled ? 1 : 0);
        if (health is null)
        {
            // Unlabelled series cannot be withdrawn: NaN says "no engine to read".
            foreach (ScrapedGauge gauge in new[] { _engineHeartbeatAge, _engineChannels, _engineMemoryLocked, _engineAllocated })
            {
                gauge.Set(double.NaN);
            }
            return;
        }
        _engineHeartbeatAge.Set(Age(now, health.HeartbeatTimeNs));
        _engineChannels.Set(health.ChannelCount);
        _engineMemoryLocked.Set(health.MemoryLocked ? 1 : 0);
        _engineCollections.Set(client, health.Gen0Collections, "0");
        _engineCollections.Set(client, health.Gen1Collections, "1");
        _engineCollections.Set(client, health.Gen2Collections, "2");
        _engineAllocated.Set(health.AllocatedBytes);
        CollectCpuPlan(client!);
    }

    private void CollectCpuPlan(EngineConnection client)
    {
        V1.CpuPlan plan;
        try
        {
            plan = Api.CpuPlanMapping.ToProto(client.ReadCpuPlan());
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
        {
            return; // being rewritten or gone with the engine: the next scrape has it
        }
        foreach (V1.OwnedCpu owned in plan.Owned)
        {
            foreach (V1.CpuOwner owner in owned.Owners)
            {
                _cpuOwner.Set(1, owned.Cpu.ToString(CultureInfo.InvariantCulture), owner.Channel, owner.Worker);
            }
        }
        void Role(IEnumerable<int> cpus, string role)
        {
            foreach (int cpu in cpus)
            {
                _cpuRole.Set(1, cpu.ToString(CultureInfo.InvariantCulture), role);
            }
        }
        Role(plan.UnpinnedCpus, plan.UnpinnedRealtime ? "unpinned" : "unpinned_sched_other");
        Role(plan.HousekeepingCpus, "housekeeping");
        Role(plan.DaemonCpus, "rtudpd");
        Role(plan.ConductorCpus, "conductor");
    }

    private void CollectChannel(ChannelEntry entry, long now)
    {
        string[] labels = [entry.Id, entry.EngineId.ToString(CultureInfo.InvariantCulture)];
        using ChannelEntry.Lease? lease = entry.Enter();
        bool live = lease is not null && _supervisor.Client is not null;
        _channelAttached.Set(live ? 1 : 0, labels);
        if (lease is null)
        {
            return; // detached or being deleted: its memory is gone, so are its series
        }
        ChannelHandle handle = lease.Handle;
        ChannelStats s = handle.ReadStats();
        foreach ((ChannelCounter counter, long value) in s.Counters)
        {
            if (ChannelCounterMetrics.For(counter) is { } m)
            {
                _counters[m.Metric.Name].Set(handle, value, m.LabelValue is null ? labels : [.. labels, m.LabelValue]);
            }
        }
        foreach ((int errno, long count) in s.SendErrnos)
        {
            _counters[ChannelCounterMetrics.TxErrnos.Name].Set(handle, count, [.. labels, errno.ToString(CultureInfo.InvariantCulture)]);
        }
        foreach ((int errno, long count) in s.ReceiveErrnos)
        {
            _counters[ChannelCounterMetrics.RxErrnos.Name].Set(handle, count, [.. labels, errno.ToString(CultureInfo.InvariantCulture)]);
        }
        _channelState.Set(1, [.. labels, Snake(live ? s.State.ToString() : "lost")]);
        ChannelModeBlock mode = s.Mode;
        foreach (string setting in DegradedSettings(entry.Notes))
        {
            _channelDegraded.Set(1, [.. labels, setting]);
        }
        bool planned = mode.InterfaceName.Length > 0 || mode.Timestamps != 0;
        _channelMode.Set(1, [.. labels,
            planned ? Snake(((TimestampMode)mode.Timestamps).ToString()) : "unknown",
            planned ? Snake(((LaunchClock)mode.Launch).ToString()) : "unknown",
            mode.InterfaceName, mode.QdiscKind]);
        if (planned)
        {
            _channelDataPath.Set(1, [.. labels,
                Snake(((GsoState)mode.Gso).ToString()), mode.Gro != 0 ? "on" : "off", Snake(((ReceiveWait)mode.ReceiveWait).ToString()), mode.Bulk != 0 ? "bulk" : "timed",
                (DataPath)mode.DataPath != DataPath.Xdp ? "socket" : mode.XdpZeroCopy != 0 ? "xdp_zero_copy" : "xdp_copy"]);
        }

        _clientsAttached.Set(s[ChannelCounter.ClientsAttached], labels);
        if (entry.Config.Sends)
        {
            _pending.Set(s.Pending, labels);
            if (s[ChannelCounter.PathMtu] is > 0 and var mtu)
            {
                _pathMtu.Set(mtu, labels);
            }
            _outcomesDelivered.Set(entry, entry.OutcomesDelivered, labels);
            _outcomesMissed.Set(entry, entry.OutcomesMissed, labels);
            CollectWorker(s.Sender, "send", labels, now);
            _sendError.Feed(handle, s.SendError, labels);
            foreach ((ChannelHistogram kind, string stage) in Stages)
            {
                _stage.Feed(handle, s.Histograms[kind], [.. labels, stage]);
            }
        }
        if (entry.Config.Receives)
        {
            _buffered.Set(s.Buffered, labels);
            CollectWorker(s.Receiver, "receive", labels, now);
            _delivery.Feed(handle, s.Delivery, labels);
            if (entry.Config.Sequenced)
            {
                _oneWay.Feed(handle, s.Histograms[ChannelHistogram.OneWay], labels);
                _jitter.Feed(handle, s.Histograms[ChannelHistogram.Jitter], labels);
                _roundTrip.Feed(handle, s.Histograms[ChannelHistogram.RoundTrip], labels);
            }
        }
    }

    /// <summary>Every listed generator's counters (finished ones stay until the registry prunes them).</summary>
    private void CollectGenerators()
    {
        foreach (PacketGenerator generator in _generators.List(null))
        {
            V1.GeneratorCounters c = generator.ToProto().Counters;
            (string channel, string id) = Split(generator.Name);
            _generatorPackets.Set(generator, c.Enqueued, channel, id, "enqueued");
            _generatorPackets.Set(generator, c.EnqueuedLate, channel, id, "enqueued_late");
            _generatorPackets.Set(generator, c.RejectedNotAccepting, channel, id, "rejected_not_accepting");
            _generatorPackets.Set(generator, c.RejectedTooLarge, channel, id, "rejected_too_large");
            _generatorFullWaits.Set(generator, c.FullWaits, channel, id);
        }
    }

    private void CollectCaptures()
    {
        foreach (PacketCapture capture in _captures.List(null))
        {
            V1.Capture c = capture.ToProto();
            (string channel, string id) = Split(capture.Name);
            _captureWritten.Set(capture, c.PacketsWritten, channel, id);
            _captureDropped.Set(capture, c.PacketsDropped, channel, id);
        }
    }

    /// <summary>"channels/{channel}/{collection}/{id}" → (channel, id).</summary>
    private static (string Channel, string Id) Split(string name)
    {
        string[] parts = name.Split('/');
        return parts.Length == 4 ? (parts[1], parts[3]) : (name, name);
    }

    private void CollectWorker(WorkerStatus worker, string name, string[] channel, long now)
    {
        if (worker.State == WorkerState.NotStarted)
        {
            return;
        }
        string[] labels = [.. channel, name];
        _workerRunning.Set(worker.State == WorkerState.Running ? 1 : 0, labels);
        foreach ((RealtimeMode flag, string mode) in RealtimeFlags)
        {
            _workerRealtime.Set(worker.Mode.HasFlag(flag) ? 1 : 0, [.. labels, mode]);
        }
        if (worker.State == WorkerState.Running)
        {
            _workerHeartbeatAge.Set(Age(now, worker.HeartbeatTimeNs), labels);
        }
    }

    private static double Age(long now, long thenNs) => Math.Max(0, now - thenNs) / 1e9;

    /// <summary>PascalCase enum names as label values: "DroppedLate" → "dropped_late".</summary>
    /// <summary>The settings named by a channel's notes ("priority: SCHED_FIFO priority 80 asked, SCHED_OTHER in effect: ...").</summary>
    internal static IEnumerable<string> DegradedSettings(IEnumerable<string> notes) =>
        notes.Select(note => note.Split(':', 2)[0].Trim())
            .Where(setting => setting.Length > 0 && setting.All(c => char.IsAsciiLetterLower(c) || c == '_' || char.IsAsciiDigit(c)))
            .Distinct(StringComparer.Ordinal);

    private static string Snake(string pascal) => SnakeCase.FromPascal(pascal);
}
