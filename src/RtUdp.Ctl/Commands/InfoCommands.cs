using System.CommandLine;
using Grpc.Health.V1;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.Ctl.Output;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl caps | health | clock: what the host offers, whether the daemon serves, and its clocks.</summary>
internal static class InfoCommands
{
    public static Command Capabilities()
    {
        var command = new Command("caps", "The host's and interfaces' real-time and timestamping capabilities");
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            GetCapabilitiesResponse caps = await client.GetCapabilitiesAsync(cancel);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Pretty(caps));
                return ExitCodes.Ok;
            }
            HostCapabilities h = caps.Host ?? new HostCapabilities();
            var host = new Table("HOST", "");
            host.Add("kernel", $"{h.KernelRelease} (preemption {h.PreemptionModel}{(h.PreemptionDynamic && h.PreemptionModel != "dynamic" ? ", dynamic" : "")})");
            host.Add("cpus", $"{h.ProcessCpuCount} of {h.CpuCount}" + (h.IsolatedCpus.Count > 0 ? $", isolated {string.Join(',', h.IsolatedCpus)}" : "") + (h.NohzFullCpus.Count > 0 ? $", nohz_full {string.Join(',', h.NohzFullCpus)}" : ""));
            host.Add("clocksource", h.Clocksource);
            host.Add("clock", $"{h.ClockState}, {(h.ClockSynchronized ? "synchronized" : "not synchronized")}, TAI offset {h.TaiOffsetSeconds} s" + (h.ClockError.Length > 0 ? $" ({h.ClockError})" : ""));
            host.Add("SCHED_FIFO", h.SchedFifoPermitted ? "permitted" : "not permitted: " + h.SchedFifoError);
            host.Add("memory lock", h.MemoryLockPermitted ? "permitted" + (h.HasMemoryLockLimitBytes ? $" up to {h.MemoryLockLimitBytes} bytes" : ", unlimited") : "not permitted: " + h.MemoryLockError);
            host.Add("RT throttling", h.RtThrottlingEnabled ? $"on ({h.RtRuntimeUs} of {h.RtPeriodUs} µs)" : "off");
            Console.Write(host);
            Console.WriteLine();
            var interfaces = new Table("INTERFACE", "STATE", "TIMESTAMPING", "PHC", "QDISC", "LAUNCH-TIME");
            foreach (InterfaceCapabilities i in caps.Interfaces)
            {
                string stamping = i.HardwareTimestamping ? "hardware" : i.SoftwareTimestamping ? "software" : "none";
                interfaces.Add(i.Name, i.OperState, stamping, i.PhcIndex < 0 ? "-" : $"/dev/ptp{i.PhcIndex}", string.Join(',', i.Qdiscs.Select(q => q.Kind).Distinct()),
                    i.LaunchTimeQdisc.Length > 0 ? $"{i.LaunchTimeQdisc} ({i.LaunchTimeClock})" : "-");
            }
            Console.Write(interfaces);
            // What each interface offers an xdp channel (docs/xdp.md): one line each, too long for a column.
            foreach (InterfaceCapabilities i in caps.Interfaces.Where(i => i.Xdp.Length > 0))
            {
                Console.WriteLine($"{i.Name} {i.Xdp}");
            }
            if (caps.CpuPlan is { } plan)
            {
                Console.WriteLine();
                Console.WriteLine(CpuPlanText.Format(plan).TrimEnd());
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Health()
    {
        var service = new Option<string>("--service") { Description = "A service's health (e.g. rtudp.v1.PacketService; default: the whole server)", DefaultValueFactory = _ => "", HelpName = "NAME" };
        var command = new Command("health", "Whether rtudpd serves (its engine runs and advances): exit 0 if SERVING, 1 otherwise, naming what stalled") { service };
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            HealthCheckResponse.Types.ServingStatus status;
            try
            {
                status = await client.CheckHealthAsync(parse.GetValue(service) ?? "", cancel);
            }
            catch (RtUdpException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound)
            {
                // grpc.health.v1 Check answers NOT_FOUND for a service it does not know.
                status = HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
            }
            string text = status switch
            {
                HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                _ => "UNKNOWN",
            };
            // Why not serving: the engine's own account (stalled and which part, or down).
            GetEngineResponse? engine = status == HealthCheckResponse.Types.ServingStatus.NotServing ? await TryGetEngineAsync(client, cancel) : null;
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Object(w =>
                {
                    w.WriteString("address", client.Address.ToString());
                    w.WriteString("status", text);
                    if (engine is not null)
                    {
                        w.WriteString("engine_state", Text.Name(engine.State));
                        w.WriteString("reason", engine.Reason);
                        w.WriteStartArray("stalled");
                        foreach (StalledPart part in engine.Stalled)
                        {
                            w.WriteStartObject();
                            w.WriteString("name", part.Name);
                            w.WriteString("channel", part.Channel);
                            w.WriteString("worker", part.Worker);
                            w.WriteNumber("age_seconds", part.Age.ToTimeSpan().TotalSeconds);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                    }
                }));
            }
            else
            {
                Console.WriteLine($"{client.Address}: {text}" + (status == HealthCheckResponse.Types.ServingStatus.NotServing ? $" ({Why(engine)}; see journalctl -u rtudp)" : ""));
            }
            return status == HealthCheckResponse.Types.ServingStatus.Serving ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    private static async Task<GetEngineResponse?> TryGetEngineAsync(RtUdpClient client, CancellationToken cancel)
    {
        try
        {
            return await client.GetEngineAsync(cancel);
        }
        catch (RtUdpException)
        {
            // An older daemon without EngineService: the status alone.
            return null;
        }
    }

    private static string Why(GetEngineResponse? engine) => engine switch
    {
        null => "the engine is starting, restarting or stalled",
        { State: EngineState.Stalled } => $"{engine.Reason}; rtudpd restarts the engine after {engine.StallRestartTimeout.ToTimeSpan().TotalSeconds:0.###} s",
        { State: EngineState.Down } => "the engine is down: starting or restarting",
        _ => engine.Reason.Length > 0 ? engine.Reason : "the engine has just recovered",
    };

    public static Command Clock()
    {
        var command = new Command("clock", "The daemon host's clocks, and this machine's offset to its CLOCK_MONOTONIC (for send --at)");
        command.SetAction(async (parse, cancel) =>
        {
            using RtUdpClient client = GlobalOptions.Connect(parse);
            EngineClock clock = await client.SynchronizeClockAsync(cancellationToken: cancel);
            GetClockResponse r = clock.Reading;
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonOut.Object(w =>
                {
                    JsonOut.WriteMessage(w, "reading", r);
                    w.WriteNumber("offsetNs", clock.OffsetNs);
                    w.WriteNumber("errorBoundNs", clock.ErrorBoundNs);
                    w.WriteNumber("roundTripNs", clock.RoundTripNs);
                }));
                return ExitCodes.Ok;
            }
            var table = new Table("CLOCK", "VALUE");
            table.Add("monotonic", $"{r.MonotonicNs} ns");
            table.Add("realtime", r.Realtime?.ToDateTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            table.Add("TAI offset", $"{r.TaiOffsetSeconds} s");
            table.Add("state", $"{r.ClockState}, {(r.Synchronized ? "synchronized" : "not synchronized")}");
            table.Add("offset here", $"{clock.OffsetNs} ns ± {clock.ErrorBoundNs} ns (round trip {Text.Ns(clock.RoundTripNs)})");
            Console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }
}
