using Grpc.Core;
using Microsoft.Extensions.Options;
using RtUdp.Core.EngineLink;
using RtUdp.Daemon.Api;
using RtUdp.Daemon.Capture;
using RtUdp.V1;
using CoreState = RtUdp.Core.Contract.Channels.ChannelState;

namespace RtUdp.Daemon.Generators;

/// <summary>rtudp.v1.GeneratorService: server-side packet schedules on sending channels (see <see cref="PacketGenerator"/>).</summary>
internal sealed class GeneratorApi(ApiContext api, GeneratorRegistry generators, IOptions<CaptureOptions> captures, ILogger<PacketGenerator> logger)
    : GeneratorService.GeneratorServiceBase
{
    public const string Collection = "generators";

    public override Task<StartGeneratorResponse> StartGenerator(StartGeneratorRequest request, ServerCallContext context)
    {
        api.RequireIntake();
        string id = request.GeneratorId.Length == 0 ? generators.NextId() : request.GeneratorId;
        if (!ChildResourceName.IsValidId(id))
        {
            throw ApiErrors.InvalidArgument("generator_id", "must be 1-63 of [a-z0-9-], starting with a letter");
        }
        ChannelEntry entry = api.Find(request.Parent, "parent");
        GeneratorPlan plan = GeneratorPlan.Validate(request.Spec, entry.Config, api.Options.SchedulingHorizon, captures.Value);
        using (ChannelEntry.Lease lease = api.Lease(request.Parent, "parent"))
        {
            CheckSending(entry, lease.Handle);
        }
        string name = ChildResourceName.Format(entry.Id, Collection, id);
        var generator = new PacketGenerator(name, entry, request.Spec, plan, logger);
        if (!generators.TryAdd(generator))
        {
            throw ApiErrors.AlreadyExists(name);
        }
        generator.Start();
        return Task.FromResult(new StartGeneratorResponse { Generator = generator.ToProto() });
    }

    public override Task<GetGeneratorResponse> GetGenerator(GetGeneratorRequest request, ServerCallContext context) =>
        Task.FromResult(new GetGeneratorResponse { Generator = Find(request.Name).ToProto() });

    public override Task<ListGeneratorsResponse> ListGenerators(ListGeneratorsRequest request, ServerCallContext context)
    {
        string? parent = null;
        if (request.Parent.Length > 0)
        {
            parent = api.Find(request.Parent, "parent").Name;
        }
        var response = new ListGeneratorsResponse();
        response.Generators.AddRange(generators.List(parent).Select(g => g.ToProto()));
        return Task.FromResult(response);
    }

    public override Task<UpdateGeneratorResponse> UpdateGenerator(UpdateGeneratorRequest request, ServerCallContext context)
    {
        PacketGenerator generator = Find(request.Name);
        (ScheduleRate rate, string field) = request.RateCase switch
        {
            UpdateGeneratorRequest.RateOneofCase.Period => Period(request.Period, "period", r => new ScheduleRate.Period(r)),
            UpdateGeneratorRequest.RateOneofCase.BurstPeriod => Period(request.BurstPeriod, "burst_period", r => new ScheduleRate.BurstPeriod(r)),
            UpdateGeneratorRequest.RateOneofCase.MeanRate => GeneratorPlan.RateOk(request.MeanRate)
                ? (new ScheduleRate.MeanRate(request.MeanRate), "mean_rate")
                : throw ApiErrors.InvalidArgument("mean_rate", "must be 0.001 to 1000000 packets/s"),
            _ => throw ApiErrors.InvalidArgument("rate", "required: period, mean_rate or burst_period"),
        };
        if (generator.Finished)
        {
            throw ApiErrors.FailedPrecondition(generator.Name, "the generator has finished");
        }
        (long Index, long DueNs) first = generator.Update(rate)
            ?? throw ApiErrors.InvalidArgument(field, $"not a rate of this generator's schedule ({generator.Spec.ScheduleCase.ToString().ToLowerInvariant()})");
        return Task.FromResult(new UpdateGeneratorResponse { Generator = generator.ToProto(), FirstIndex = first.Index, FirstDueMonotonicNs = first.DueNs });
    }

    public override Task<StopGeneratorResponse> StopGenerator(StopGeneratorRequest request, ServerCallContext context)
    {
        PacketGenerator generator = Find(request.Name);
        generator.Stop();
        return Task.FromResult(new StopGeneratorResponse { Generator = generator.ToProto() });
    }

    private static (ScheduleRate, string) Period(Google.Protobuf.WellKnownTypes.Duration d, string field, Func<long, ScheduleRate> rate)
    {
        long ns = SendTimes.ToNs(d);
        return GeneratorPlan.PeriodOk(ns) ? (rate(ns), field) : throw ApiErrors.InvalidArgument(field, "must be 1 us to 1 h");
    }

    private PacketGenerator Find(string name)
    {
        if (ChildResourceName.Parse(name, Collection) is null)
        {
            throw ApiErrors.InvalidArgument("name", $"'{name}' is not a generator name: expected {ChannelRegistry.Prefix}{{channel_id}}/{Collection}/{{generator_id}}");
        }
        return generators.TryGet(name, out PacketGenerator generator) ? generator : throw ApiErrors.NotFound(name);
    }

    private static void CheckSending(ChannelEntry entry, ChannelHandle handle)
    {
        if (!entry.Config.Sends)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "the channel does not send (direction RECEIVE)", "DIRECTION");
        }
        CoreState state = handle.State;
        if (state is not CoreState.Running)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, $"the channel is {state.ToString().ToLowerInvariant()}; a generator needs it running");
        }
    }
}
