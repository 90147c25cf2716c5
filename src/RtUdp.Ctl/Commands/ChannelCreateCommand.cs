using System.CommandLine;
using RtUdp.Client;
using RtUdp.Ctl.Cli;
using RtUdp.V1;

namespace RtUdp.Ctl.Commands;

/// <summary>rtudpctl channels create NAME --direction send|receive|duplex [...]: the ChannelConfig fields worth typing.</summary>
internal static class ChannelCreateCommand
{
    private static readonly Dictionary<string, ChannelDirection> Directions = new()
    {
        ["send"] = ChannelDirection.Send, ["receive"] = ChannelDirection.Receive, ["duplex"] = ChannelDirection.Duplex,
    };

    private static readonly Dictionary<string, TimingStrategy> Timings = new()
    {
        ["sleep"] = TimingStrategy.Sleep, ["hybrid"] = TimingStrategy.Hybrid, ["spin"] = TimingStrategy.Spin, ["bulk"] = TimingStrategy.Bulk,
    };

    private static readonly Dictionary<string, GsoMode> GsoModes = new()
    {
        ["auto"] = GsoMode.Auto, ["on"] = GsoMode.On, ["off"] = GsoMode.Off,
    };

    private static readonly Dictionary<string, GroMode> GroModes = new()
    {
        ["auto"] = GroMode.Auto, ["on"] = GroMode.On, ["off"] = GroMode.Off,
    };

    private static readonly Dictionary<string, DataPath> DataPaths = new()
    {
        ["socket"] = DataPath.Socket, ["xdp"] = DataPath.Xdp,
    };

    private static readonly Dictionary<string, XdpZeroCopy> XdpZeroCopies = new()
    {
        ["auto"] = XdpZeroCopy.Auto, ["on"] = XdpZeroCopy.On, ["off"] = XdpZeroCopy.Off,
    };

    private static readonly Dictionary<string, XdpAttachMode> XdpAttachModes = new()
    {
        ["auto"] = XdpAttachMode.Auto, ["native"] = XdpAttachMode.Native, ["generic"] = XdpAttachMode.Generic,
    };

    private static readonly Dictionary<string, ReceiveStrategy> ReceiveStrategies = new()
    {
        ["poll"] = ReceiveStrategy.Poll, ["busy-poll"] = ReceiveStrategy.BusyPoll,
    };

    private static readonly Dictionary<string, LatePolicy> LatePolicies = new()
    {
        ["send-late"] = LatePolicy.SendLate, ["drop"] = LatePolicy.Drop,
    };

    private static readonly Dictionary<string, ClientExitPolicy> ClientExitPolicies = new()
    {
        ["drain"] = ClientExitPolicy.Drain, ["drop"] = ClientExitPolicy.Drop,
    };

    private static readonly Dictionary<string, TimestampMode> TimestampModes = new()
    {
        ["auto"] = TimestampMode.Auto, ["hardware"] = TimestampMode.Hardware, ["software"] = TimestampMode.Software, ["off"] = TimestampMode.Off,
    };

    private static readonly Dictionary<string, LaunchTimeMode> LaunchTimes = new()
    {
        ["off"] = LaunchTimeMode.Off, ["auto"] = LaunchTimeMode.Auto, ["required"] = LaunchTimeMode.Required,
    };

    private static readonly Dictionary<string, FlowClock> FlowClocks = new()
    {
        ["monotonic"] = FlowClock.Monotonic, ["tai"] = FlowClock.Tai,
    };

    public static Command Build()
    {
        Argument<string> name = Options.ChannelArgument();
        name.Description = "The new channel's id: 1-63 characters of [a-z0-9._-]";
        Option<ChannelDirection> direction = Options.Choice("--direction", "What the channel does", Directions, ChannelDirection.Duplex);
        Option<Endpoint?> local = Options.Endpoint("--local", "Address and port to bind (default: 127.0.0.1:0, or [::1]:0 for an IPv6 loopback remote, or the remote family's wildcard for any other remote; port 0: the kernel's choice)");
        Option<Endpoint?> remote = Options.Endpoint("--remote", "Destination; for a receiving channel the only source accepted (required to send)");
        Option<int?> cpu = Options.Int("--cpu", "CPU to pin the channel's workers to (default: unpinned)", 0, 4095);
        Option<int?> sendCpu = Options.Int("--send-cpu", "CPU of the send worker (overrides --cpu)", 0, 4095);
        Option<int?> receiveCpu = Options.Int("--receive-cpu", "CPU of the receive worker (overrides --cpu)", 0, 4095);
        Option<int?> priority = Options.Int("--priority", "SCHED_FIFO priority 1-99 of the workers, 0: SCHED_OTHER (default: 80 with a pinned worker, else 0)", 0, 99);
        Option<int?> capacity = Options.Int("--capacity", "Packets the send side holds queued (default 65536)", 1, 16_777_216);
        Option<int?> maxPayload = Options.Int("--max-payload", "Largest payload sent or received untruncated, bytes (default 9000)", 1, 65_507, "BYTES");
        Option<int?> batch = Options.Int("--batch", "Most packets per sendmmsg/recvmmsg (default 32)", 1, 64);
        Option<int?> socketBuffer = Options.Int("--socket-buffer", "SO_SNDBUF/SO_RCVBUF bytes (default 4194304; 0: the kernel's)", 0, int.MaxValue, "BYTES");
        Option<TimingStrategy> timing = Options.Choice("--timing", "How the send worker waits for a packet's time (bulk: none, sent as fed)", Timings, TimingStrategy.Unspecified);
        Option<TimeSpan?> spinMargin = NullableDuration("--spin-margin", "Hybrid timing: sleep until this long before the time, then spin (default 100us)");
        Option<LatePolicy> latePolicy = Options.Choice("--late-policy", "What a packet past its time gets", LatePolicies, LatePolicy.Unspecified);
        Option<ClientExitPolicy> clientExit = Options.Choice("--client-exit", "What a same-host (librtudp) client's unsent packets get when it detaches or dies: drain (sent, the default) or drop (counted)", ClientExitPolicies, ClientExitPolicy.Unspecified);
        Option<TimeSpan?> lateTolerance = NullableDuration("--late-tolerance", "Lateness tolerated before a packet counts late (default 100us)");
        Option<TimestampMode> timestamps = Options.Choice("--timestamps", "TX/RX timestamps", TimestampModes, TimestampMode.Unspecified);
        Option<LaunchTimeMode> launchTime = Options.Choice("--launch-time", "SO_TXTIME launch time through an etf/taprio/fq qdisc", LaunchTimes, LaunchTimeMode.Unspecified);
        Option<bool> requireRealtime = new("--require-realtime") { Description = "Fail the start rather than run without SCHED_FIFO, CPU pinning or locked memory" };
        Option<bool> sequenced = new("--sequenced") { Description = "Sequenced flow: a 40-byte flow header in each packet sent; loss, reordering, latency and jitter of each flow received" };
        Option<bool> reflect = new("--reflect") { Description = "Reflector: send every datagram received straight back to its source" };
        Option<bool> shareCpu = new("--share-cpu") { Description = "let the pinned workers share a CPU that another channel's pinned worker owns (refused otherwise, naming the owner)" };
        Option<bool> dontFragment = new("--dont-fragment") { Description = "DF on every datagram: one larger than the path MTU is dropped (EMSGSIZE, MTU reported) instead of fragmented" };
        Option<long?> flowId = Options.Long("--flow-id", "Sequenced: the flow id written in each header sent (default 0)", 0, uint.MaxValue, "ID");
        Option<FlowClock> flowClock = Options.Choice("--flow-clock", "Sequenced: the clock of the header's times", FlowClocks, FlowClock.Unspecified);
        Option<GsoMode> gso = Options.Choice("--gso", "UDP GSO trains for packets due together (default auto)", GsoModes, GsoMode.Unspecified);
        Option<GroMode> gro = Options.Choice("--gro", "UDP GRO on the receiving socket, split back into packets (default auto)", GroModes, GroMode.Unspecified);
        Option<ReceiveStrategy> receiveStrategy = Options.Choice("--receive", "How the receive worker waits (default poll)", ReceiveStrategies, ReceiveStrategy.Unspecified);
        Option<TimeSpan?> busyPoll = NullableDuration("--busy-poll", "Busy-poll: keep reading this long after the last datagram (default 1ms)");
        Option<DataPath> dataPath = Options.Choice("--data-path", "socket, or xdp: AF_XDP on one queue of the egress interface (docs/xdp.md; default socket)", DataPaths, DataPath.Unspecified);
        Option<int?> xdpQueue = Options.Int("--xdp-queue", "xdp: the interface queue the channel owns (default 0)", 0, 255);
        Option<XdpZeroCopy> xdpZeroCopy = Options.Choice("--xdp-zero-copy", "xdp: zero-copy where the driver offers it (auto), required (on), or copy mode (off)", XdpZeroCopies, XdpZeroCopy.Unspecified);
        Option<XdpAttachMode> xdpAttach = Options.Choice("--xdp-attach", "xdp: how the steering program attaches (default auto: native where the driver has XDP)", XdpAttachModes, XdpAttachMode.Unspecified);
        Option<bool> noStart = new("--no-start") { Description = "Create (bind) only; start it later with: rtudpctl channels start NAME" };

        var create = new Command("create", "Create (bind) a channel and start it")
        {
            name, direction, local, remote, cpu, sendCpu, receiveCpu, priority, capacity, maxPayload, batch, socketBuffer,
            timing, spinMargin, latePolicy, lateTolerance, timestamps, launchTime, requireRealtime,
            sequenced, reflect, dontFragment, shareCpu, flowId, flowClock, gso, gro, receiveStrategy, busyPoll,
            dataPath, xdpQueue, xdpZeroCopy, xdpAttach, clientExit, noStart,
        };
        create.Validators.Add(result =>
        {
            if (result.GetResult(direction) is null or { Implicit: true })
            {
                result.AddError("--direction is required: send, receive or duplex");
            }
        });
        create.SetAction(async (parse, cancel) =>
        {
            var config = new Channel
            {
                Direction = parse.GetValue(direction),
                // Unset: rtudpd chooses, following the remote's address family.
                Local = parse.GetValue(local),
                Timing = parse.GetValue(timing),
                LatePolicy = parse.GetValue(latePolicy),
                ClientExit = parse.GetValue(clientExit),
                Timestamps = parse.GetValue(timestamps),
                LaunchTime = parse.GetValue(launchTime),
                FlowClock = parse.GetValue(flowClock),
                Gso = parse.GetValue(gso),
                Gro = parse.GetValue(gro),
                ReceiveStrategy = parse.GetValue(receiveStrategy),
            };
            config.DataPath = parse.GetValue(dataPath);
            if (parse.GetValue(xdpQueue) is not null || parse.GetValue(xdpZeroCopy) != XdpZeroCopy.Unspecified || parse.GetValue(xdpAttach) != XdpAttachMode.Unspecified)
            {
                config.Xdp = new XdpOptions { ZeroCopy = parse.GetValue(xdpZeroCopy), AttachMode = parse.GetValue(xdpAttach) };
                if (parse.GetValue(xdpQueue) is { } q)
                {
                    config.Xdp.Queue = q;
                }
            }
            if (parse.GetValue(busyPoll) is { } window)
            {
                config.BusyPollNs = (long)window.TotalNanoseconds;
            }
            if (parse.GetValue(remote) is { } r)
            {
                config.Remote = r;
            }
            if ((parse.GetValue(sendCpu) ?? parse.GetValue(cpu)) is { } s)
            {
                config.SendCpu = s;
            }
            if ((parse.GetValue(receiveCpu) ?? parse.GetValue(cpu)) is { } rc)
            {
                config.ReceiveCpu = rc;
            }
            if (parse.GetValue(priority) is { } p)
            {
                config.Priority = p;
            }
            if (parse.GetValue(capacity) is { } c)
            {
                config.Capacity = c;
            }
            if (parse.GetValue(maxPayload) is { } m)
            {
                config.MaxPayload = m;
            }
            if (parse.GetValue(batch) is { } b)
            {
                config.BatchSize = b;
            }
            if (parse.GetValue(socketBuffer) is { } sb)
            {
                config.SocketBufferBytes = sb;
            }
            if (parse.GetValue(spinMargin) is { } margin)
            {
                config.SpinMarginNs = (long)margin.TotalNanoseconds;
            }
            if (parse.GetValue(lateTolerance) is { } tolerance)
            {
                config.LateToleranceNs = (long)tolerance.TotalNanoseconds;
            }
            if (parse.GetValue(requireRealtime))
            {
                config.Flags.Add(ChannelFlag.RequireRealtime);
            }
            if (parse.GetValue(sequenced))
            {
                config.Flags.Add(ChannelFlag.Sequenced);
            }
            if (parse.GetValue(reflect))
            {
                config.Flags.Add(ChannelFlag.Reflect);
            }
            if (parse.GetValue(dontFragment))
            {
                config.Flags.Add(ChannelFlag.DontFragment);
            }
            if (parse.GetValue(shareCpu))
            {
                config.Flags.Add(ChannelFlag.ShareCpu);
            }
            if (parse.GetValue(flowId) is { } flow)
            {
                config.FlowId = (uint)flow;
            }
            using RtUdpClient client = GlobalOptions.Connect(parse);
            Channel channel = await client.CreateChannelAsync(parse.GetValue(name)!, config, start: !parse.GetValue(noStart), cancel);
            ChannelsCommands.Print(parse, channel);
            return ExitCodes.Ok;
        });
        return create;
    }

    private static Option<TimeSpan?> NullableDuration(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result => Options.ParseDuration(result),
    };
}
