using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RtUdp.Core.Capabilities;
using RtUdp.V1;
using CoreInterface = RtUdp.Core.Capabilities.InterfaceCapabilities;

namespace RtUdp.Daemon.Api;

/// <summary>rtudp.v1.CapabilityService: the report the engine wrote when it started (capabilities.json).</summary>
public sealed class CapabilityApi(ApiContext api) : CapabilityService.CapabilityServiceBase
{
    public override Task<GetCapabilitiesResponse> GetCapabilities(GetCapabilitiesRequest request, ServerCallContext context)
    {
        CapabilityReport report = api.RequireEngine().ReadCapabilities()
            ?? throw ApiErrors.FailedPrecondition("capabilities", "the engine could not probe the host (see its log)", "ENGINE");
        HostFacts h = report.Host;
        var host = new HostCapabilities
        {
            KernelRelease = h.KernelRelease,
            KernelVersion = h.KernelVersion,
            CpuCount = h.CpuCount,
            ProcessCpuCount = h.ProcessCpuCount,
            PreemptionModel = h.Preemption.Model.ToString().ToLowerInvariant(),
            PreemptionDynamic = h.Preemption.Dynamic,
            Clocksource = h.ClockSource.Current ?? "",
            AvailableClocksources = { h.ClockSource.Available },
            TaiOffsetSeconds = h.Clock?.TaiOffsetSeconds ?? 0,
            ClockState = h.Clock?.ClockState ?? "",
            ClockSynchronized = h.Clock?.Synchronized ?? false,
            ClockError = h.ClockError ?? "",
            SchedFifoPermitted = h.SchedFifo.Permitted,
            SchedFifoError = h.SchedFifo.Error ?? "",
            MemoryLockPermitted = h.MemoryLock.Permitted,
            MemoryLockError = h.MemoryLock.Error ?? "",
            RtThrottlingEnabled = h.RtThrottling.Enabled,
            RtRuntimeUs = h.RtThrottling.RuntimeUs ?? 0,
            RtPeriodUs = h.RtThrottling.PeriodUs ?? 0,
            IsolatedCpus = { h.IsolatedCpus.Cpus },
            NohzFullCpus = { h.NohzFull.Cpus },
            FutexWaitv = h.FutexWaitv,
        };
        if (h.MemoryLock.LimitBytes is ulong limit)
        {
            host.MemoryLockLimitBytes = limit;
        }
        var response = new GetCapabilitiesResponse
        {
            ProbedAt = Timestamp.FromDateTimeOffset(report.ProbedAt),
            Host = host,
            Json = report.ToJson(),
            CpuPlan = CpuPlanMapping.ToProto(api.RequireEngine().ReadCpuPlan()),
        };
        foreach (CoreInterface i in report.Interfaces)
        {
            var item = new V1.InterfaceCapabilities
            {
                Name = i.Name,
                Ifindex = i.Ifindex,
                Up = i.Up,
                Running = i.Running,
                OperState = i.OperState ?? "",
                SoTimestamping = { i.Timestamping.SoTimestamping },
                HardwareTimestamping = i.Timestamping.HasHardwareTimestamping,
                SoftwareTimestamping = i.Timestamping.HasSoftwareTimestamping,
                PhcIndex = i.PhcIndex,
                TxTypes = { i.Timestamping.TxTypes },
                RxFilters = { i.Timestamping.RxFilters },
                TimestampingError = i.Timestamping.Error ?? "",
                HwtstampConfig = i.HwtstampConfig.Describe(),
                QdiscError = i.QdiscError ?? "",
                LaunchTimeQdisc = i.LaunchTime?.Kind.ToString().ToLowerInvariant() ?? "",
                LaunchTimeClock = i.LaunchTime is null ? "" : i.LaunchTime.Clock == LaunchTimeClock.ClockTai ? "CLOCK_TAI" : "CLOCK_MONOTONIC",
                Xdp = i.Xdp?.Summary ?? "",
                XdpZeroCopy = i.Xdp?.ZeroCopy == true,
                XdpTxTimestamp = i.Xdp?.TxTimestamp == true,
                XdpTxChecksum = i.Xdp?.TxChecksum == true,
                XdpTxLaunchTime = i.Xdp?.TxLaunchTimeFifo == true,
            };
            foreach (QdiscInfo q in i.Qdiscs)
            {
                item.Qdiscs.Add(new Qdisc { Kind = q.Kind, Handle = q.HandleId, Parent = q.ParentId });
            }
            response.Interfaces.Add(item);
        }
        return Task.FromResult(response);
    }
}
