using Google.Protobuf.WellKnownTypes;
using RtUdp.Core.Capture;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;
using RtUdp.Daemon.Capture;
using RtUdp.V1;
using ChannelConfig = RtUdp.Core.Contract.Channels.ChannelConfig;

namespace RtUdp.Daemon.Generators;

/// <summary>A validated generator spec: its schedule (from the resolved start), payload, limits and look-ahead.</summary>
internal sealed class GeneratorPlan
{
    private const long NsPerSecond = SendTimes.NsPerSecond;
    private const long MinPeriodNs = 1_000;
    private const long MaxPeriodNs = 3600 * NsPerSecond;
    private const long DefaultLookaheadNs = 20_000_000;
    private const int DefaultPayload = 64;

    private Func<long, IPacketSchedule> _schedule = null!;

    public long StartNs { get; private set; }

    public long Count { get; private set; }

    /// <summary>Packets due at or after this are not sent (long.MaxValue: no limit).</summary>
    public long EndNs { get; private set; } = long.MaxValue;

    public long LookaheadNs { get; private set; } = DefaultLookaheadNs;

    public PayloadTemplate Payload { get; private set; } = null!;

    public IPacketSchedule CreateSchedule() => _schedule(StartNs);

    /// <summary>Checks <paramref name="spec"/> against the channel; INVALID_ARGUMENT naming every bad field.</summary>
    public static GeneratorPlan Validate(GeneratorSpec? spec, ChannelConfig channel, TimeSpan horizon, CaptureOptions captures)
    {
        var violations = new List<ApiErrors.Violation>();
        var plan = new GeneratorPlan();
        if (spec is null)
        {
            throw ApiErrors.InvalidArgument("spec", "required");
        }
        long now = Libc.MonotonicNow();
        long horizonNs = (long)(horizon.TotalMilliseconds * 1_000_000);
        plan.ValidateSchedule(spec, captures, violations);
        plan.ValidatePayload(spec, channel, violations);
        plan.ValidateStart(spec, now, horizonNs, violations);
        if (spec.Count < 0)
        {
            violations.Add(new("spec.count", "must not be negative (0: no limit)"));
        }
        plan.Count = spec.Count;
        if (spec.Duration is { } duration)
        {
            long ns = SendTimes.ToNs(duration);
            if (ns <= 0)
            {
                violations.Add(new("spec.duration", "must be more than 0 (unset: no limit)"));
            }
            else
            {
                plan.EndNs = plan.StartNs + ns;
            }
        }
        if (spec.Lookahead is { } lookahead)
        {
            long ns = SendTimes.ToNs(lookahead);
            if (ns is < 1_000_000 or > NsPerSecond)
            {
                violations.Add(new("spec.lookahead", "must be 1 ms to 1 s"));
            }
            plan.LookaheadNs = ns;
        }
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        return plan;
    }

    private void ValidateSchedule(GeneratorSpec spec, CaptureOptions captures, List<ApiErrors.Violation> violations)
    {
        switch (spec.ScheduleCase)
        {
            case GeneratorSpec.ScheduleOneofCase.Periodic:
                long period = SendTimes.ToNs(spec.Periodic.Period);
                if (!PeriodOk(period))
                {
                    violations.Add(new("spec.periodic.period", "must be 1 us to 1 h"));
                }
                _schedule = start => new PeriodicSchedule(start, period);
                break;
            case GeneratorSpec.ScheduleOneofCase.Burst:
                BurstSchedule(spec.Burst, violations);
                break;
            case GeneratorSpec.ScheduleOneofCase.Poisson:
                double rate = spec.Poisson.MeanRate;
                if (!RateOk(rate))
                {
                    violations.Add(new("spec.poisson.mean_rate", "must be 0.001 to 1000000 packets/s"));
                }
                ulong seed = spec.Poisson.Seed;
                _schedule = start => new PoissonSchedule(start, rate, seed);
                break;
            case GeneratorSpec.ScheduleOneofCase.Replay:
                ReplaySchedule(spec.Replay, captures, violations);
                break;
            default:
                violations.Add(new("spec.schedule", "required: periodic, burst, poisson or replay"));
                break;
        }
    }

    private void BurstSchedule(V1.BurstSchedule burst, List<ApiErrors.Violation> violations)
    {
        int size = burst.BurstSize;
        long gap = burst.Gap is null ? 0 : SendTimes.ToNs(burst.Gap);
        long period = SendTimes.ToNs(burst.BurstPeriod);
        if (size is < 1 or > 100_000)
        {
            violations.Add(new("spec.burst.burst_size", "must be 1 to 100000"));
        }
        if (!PeriodOk(period))
        {
            violations.Add(new("spec.burst.burst_period", "must be 1 us to 1 h"));
        }
        else if (gap < 0 || (size > 1 && gap > period / size))
        {
            violations.Add(new("spec.burst.gap", $"must be 0 to burst_period / burst_size ({period / Math.Max(1, size)} ns)"));
        }
        _schedule = start => new BurstSchedule(start, size, gap, period);
    }

    private void ReplaySchedule(V1.ReplaySchedule replay, CaptureOptions captures, List<ApiErrors.Violation> violations)
    {
        if (!captures.Enabled)
        {
            violations.Add(new("spec.replay.file_name", "replays are disabled (Capture:Directory is empty)"));
            return;
        }
        if (CaptureFiles.Problem(replay.FileName) is { } problem)
        {
            violations.Add(new("spec.replay.file_name", problem));
            return;
        }
        if (replay.DestinationPort > 65535)
        {
            violations.Add(new("spec.replay.destination_port", "must be 0 to 65535"));
            return;
        }
        string path = CaptureFiles.Resolve(captures.Directory, replay.FileName);
        List<CapturedDatagram> packets;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                violations.Add(new("spec.replay.file_name", $"no file '{replay.FileName}' in the capture directory"));
                return;
            }
            if (info.Length > (long)captures.MaxReplayMiB << 20)
            {
                violations.Add(new("spec.replay.file_name", $"larger than Capture:MaxReplayMiB ({captures.MaxReplayMiB} MiB)"));
                return;
            }
            packets = CaptureFileReader.Read(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            violations.Add(new("spec.replay.file_name", $"cannot read '{replay.FileName}': {e.Message}"));
            return;
        }
        if (replay.DestinationPort != 0)
        {
            packets = packets.Where(p => p.DestinationPort == replay.DestinationPort).ToList();
        }
        if (packets.Count == 0)
        {
            violations.Add(new("spec.replay.file_name", $"'{replay.FileName}' holds no UDP packet{(replay.DestinationPort != 0 ? $" to port {replay.DestinationPort}" : "")}"));
            return;
        }
        _schedule = start => new ReplaySchedule(start, packets);
    }

    private void ValidatePayload(GeneratorSpec spec, ChannelConfig channel, List<ApiErrors.Violation> violations)
    {
        PayloadSpec payload = spec.Payload ?? new PayloadSpec();
        int size = payload.Size == 0 ? (payload.Pattern.IsEmpty ? DefaultPayload : payload.Pattern.Length) : payload.Size;
        if (payload.Size < 0 || size > channel.MaxPayload)
        {
            violations.Add(new("spec.payload.size", $"must be 0 to the channel's max_payload ({channel.MaxPayload})"));
            size = 0;
        }
        else if (payload.IndexPrefix && size < 8)
        {
            violations.Add(new("spec.payload.index_prefix", $"needs a size of at least 8 bytes (it is {size})"));
        }
        Payload = new PayloadTemplate(size, payload.Pattern.Span, payload.IndexPrefix);
    }

    private void ValidateStart(GeneratorSpec spec, long now, long horizonNs, List<ApiErrors.Violation> violations)
    {
        (string field, long? start) = spec.StartCase switch
        {
            GeneratorSpec.StartOneofCase.StartMonotonicNs => ("spec.start_monotonic_ns", (long?)spec.StartMonotonicNs),
            GeneratorSpec.StartOneofCase.StartTaiNs => ("spec.start_tai_ns", (long?)new SendTimes().TaiToMonotonic(spec.StartTaiNs)),
            GeneratorSpec.StartOneofCase.StartDelay => ("spec.start_delay", SendTimes.ToNs(spec.StartDelay) is var d and >= 0 ? now + d : (long?)null),
            _ => ("spec", (long?)now),
        };
        if (start is not { } value)
        {
            violations.Add(new(field, "must not be negative"));
            return;
        }
        if (value < now)
        {
            violations.Add(new(field, $"{(now - value) / 1e6:0.###} ms in the past: a generator starts now or later"));
        }
        else if (value > now + horizonNs)
        {
            violations.Add(new(field, $"{(value - now) / 1e9:0.###} s ahead, beyond the scheduling horizon of {horizonNs / 1e9:0.###} s"));
        }
        StartNs = value;
    }

    public static bool PeriodOk(long ns) => ns is >= MinPeriodNs and <= MaxPeriodNs;

    public static bool RateOk(double rate) => rate is >= 0.001 and <= 1_000_000 && double.IsFinite(rate);
}
