using System.Net;
using System.Net.Sockets;
using Google.Protobuf.Collections;
using ChannelConfig = RtUdp.Core.Contract.Channels.ChannelConfig;
using ChannelFlags = RtUdp.Core.Contract.Channels.ChannelFlags;
using ChannelModeBlock = RtUdp.Core.Contract.Channels.ChannelModeBlock;
using RtUdp.V1;
using Endpoint = RtUdp.V1.Endpoint;
using CoreState = RtUdp.Core.Contract.Channels.ChannelState;
using V1State = RtUdp.V1.ChannelState;

namespace RtUdp.Daemon.Api;

/// <summary>
/// rtudp.v1.Channel to and from the engine's <see cref="ChannelConfig"/>. Proto enums are the engine's
/// values plus one (0 is UNSPECIFIED: the engine's default); unknown values are INVALID_ARGUMENT.
/// </summary>
internal static class ChannelMapping
{
    private static readonly ChannelConfig Defaults = new();

    /// <summary>Builds the engine config from a CreateChannel request, or the field violations.</summary>
    public static ChannelConfig ToConfig(string channelId, Channel? channel, List<ApiErrors.Violation> violations)
    {
        channel ??= new Channel();
        ChannelConfig config = Defaults with { Name = channelId };

        IPEndPoint? remote = channel.Remote is null ? null : ParseEndpoint(channel.Remote, "channel.remote", violations);
        IPEndPoint? local = channel.Local is null ? ChannelConfig.DefaultLocalFor(remote) : ParseEndpoint(channel.Local, "channel.local", violations);

        config = config with
        {
            Local = local ?? ChannelConfig.DefaultLocalFor(remote),
            Remote = remote,
            Direction = Enum<Core.Contract.Channels.ChannelDirection>((int)channel.Direction, "channel.direction", Defaults.Direction, violations),
            Timing = Enum<Core.Contract.Channels.TimingStrategy>((int)channel.Timing, "channel.timing", Defaults.Timing, violations),
            LatePolicy = Enum<Core.Contract.Channels.LatePolicy>((int)channel.LatePolicy, "channel.late_policy", Defaults.LatePolicy, violations),
            ClientExit = ClientExit(channel.ClientExit, violations),
            Timestamps = Enum<Core.Contract.Channels.TimestampMode>((int)channel.Timestamps, "channel.timestamps", Defaults.Timestamps, violations),
            LaunchTime = Enum<Core.Contract.Channels.LaunchTimeMode>((int)channel.LaunchTime, "channel.launch_time", Defaults.LaunchTime, violations),
            Flags = Flags(channel.Flags, violations),
            Capacity = channel.HasCapacity ? channel.Capacity : Defaults.Capacity,
            MaxPayload = channel.HasMaxPayload ? channel.MaxPayload : Defaults.MaxPayload,
            TxRingBytes = channel.HasTxRingBytes ? channel.TxRingBytes : Defaults.TxRingBytes,
            RxRingBytes = channel.HasRxRingBytes ? channel.RxRingBytes : Defaults.RxRingBytes,
            SendCpu = channel.HasSendCpu ? channel.SendCpu : Defaults.SendCpu,
            ReceiveCpu = channel.HasReceiveCpu ? channel.ReceiveCpu : Defaults.ReceiveCpu,
            SpinMarginNs = channel.HasSpinMarginNs ? channel.SpinMarginNs : Defaults.SpinMarginNs,
            LateToleranceNs = channel.HasLateToleranceNs ? channel.LateToleranceNs : Defaults.LateToleranceNs,
            BatchSize = channel.HasBatchSize ? channel.BatchSize : Defaults.BatchSize,
            SocketBufferBytes = channel.HasSocketBufferBytes ? channel.SocketBufferBytes : Defaults.SocketBufferBytes,
            LaunchLeadNs = channel.HasLaunchLeadNs ? channel.LaunchLeadNs : Defaults.LaunchLeadNs,
            HardwareStampTimeoutNs = channel.HasHardwareStampTimeoutNs ? channel.HardwareStampTimeoutNs : Defaults.HardwareStampTimeoutNs,
            FlowId = channel.HasFlowId ? channel.FlowId : Defaults.FlowId,
            FlowClock = Enum<Core.Contract.Channels.FlowClock>((int)channel.FlowClock, "channel.flow_clock", Defaults.FlowClock, violations),
            Gso = Enum<Core.Contract.Channels.GsoMode>((int)channel.Gso, "channel.gso", Defaults.Gso, violations),
            Gro = Enum<Core.Contract.Channels.GroMode>((int)channel.Gro, "channel.gro", Defaults.Gro, violations),
            ReceiveStrategy = Enum<Core.Contract.Channels.ReceiveStrategy>((int)channel.ReceiveStrategy, "channel.receive_strategy", Defaults.ReceiveStrategy, violations),
            BusyPollNs = channel.HasBusyPollNs ? channel.BusyPollNs : Defaults.BusyPollNs,
            DataPath = Enum<Core.Contract.Channels.DataPath>((int)channel.DataPath, "channel.data_path", Defaults.DataPath, violations),
            XdpQueue = channel.Xdp is { HasQueue: true } ? channel.Xdp.Queue : Defaults.XdpQueue,
            XdpZeroCopy = Enum<Core.Contract.Channels.XdpZeroCopy>((int)(channel.Xdp?.ZeroCopy ?? 0), "channel.xdp.zero_copy", Defaults.XdpZeroCopy, violations),
            XdpAttach = Enum<Core.Contract.Channels.XdpAttachMode>((int)(channel.Xdp?.AttachMode ?? 0), "channel.xdp.attach_mode", Defaults.XdpAttach, violations),
        };
        if (config.Xdp && !channel.HasMaxPayload)
        {
            // The socket path's default (9000) does not fit one UMEM frame: an xdp channel takes what one holds.
            config = config with { MaxPayload = ChannelConfig.XdpMaxPayload };
        }
        config = config with { Priority = channel.HasPriority ? channel.Priority : ChannelConfig.DefaultPriority(config.Direction, config.SendCpu, config.ReceiveCpu) };

        // The engine's own checks, field by field, for everything the parsing above let through
        // (it reports the first problem; fields already refused here are not reported twice).
        if (violations.Count == 0 && config.Validate() is { } problem)
        {
            violations.Add(new ApiErrors.Violation(ApiErrors.ChannelFieldName(problem.Field), problem.Message));
        }
        return config;
    }

    /// <summary>A numeric IPv4/IPv6 address and a port 0-65535.</summary>
    public static IPEndPoint? ParseEndpoint(Endpoint endpoint, string field, List<ApiErrors.Violation> violations)
    {
        IPEndPoint? result = null;
        if (string.IsNullOrWhiteSpace(endpoint.Address))
        {
            violations.Add(new(field + ".address", "required: a numeric IPv4 or IPv6 address"));
        }
        else if (!IPAddress.TryParse(endpoint.Address, out IPAddress? address)
            || (address.AddressFamily == AddressFamily.InterNetwork && endpoint.Address.Count(c => c == '.') != 3))
        {
            violations.Add(new(field + ".address", $"'{endpoint.Address}' is not a numeric IPv4 or IPv6 address"));
        }
        else if (endpoint.Port <= IPEndPoint.MaxPort)
        {
            result = new IPEndPoint(address, (int)endpoint.Port);
        }
        if (endpoint.Port > IPEndPoint.MaxPort)
        {
            violations.Add(new(field + ".port", $"{endpoint.Port} is not a port (0-65535)"));
            result = null;
        }
        return result;
    }

    /// <summary>The proto's and the contract's numbers agree (1 drain, 2 drop); unset is drain.</summary>
    private static Core.Contract.Clients.ClientExitPolicy ClientExit(V1.ClientExitPolicy value, List<ApiErrors.Violation> violations)
    {
        if (value == V1.ClientExitPolicy.Unspecified)
        {
            return Defaults.ClientExit;
        }
        var policy = (Core.Contract.Clients.ClientExitPolicy)(int)value;
        if (!System.Enum.IsDefined(policy))
        {
            violations.Add(new("channel.client_exit", $"unknown value {(int)value}: CLIENT_EXIT_POLICY_DRAIN or CLIENT_EXIT_POLICY_DROP"));
            return Defaults.ClientExit;
        }
        return policy;
    }

    private static T Enum<T>(int protoValue, string field, T defaultValue, List<ApiErrors.Violation> violations)
        where T : struct, System.Enum
    {
        if (protoValue == 0)
        {
            return defaultValue;
        }
        var value = (T)(object)(protoValue - 1);
        if (!System.Enum.IsDefined(value))
        {
            violations.Add(new(field, $"unknown value {protoValue}"));
            return defaultValue;
        }
        return value;
    }

    /// <summary>ChannelFlag values 1..FlagCount are the engine's flag bits 0..FlagCount-1.</summary>
    private const int FlagCount = 8;

    private static ChannelFlags Flags(RepeatedField<ChannelFlag> flags, List<ApiErrors.Violation> violations)
    {
        ChannelFlags result = ChannelFlags.None;
        for (int i = 0; i < flags.Count; i++)
        {
            int value = (int)flags[i];
            if (value is < 1 or > FlagCount)
            {
                violations.Add(new($"channel.flags[{i}]", $"unknown value {value}"));
                continue;
            }
            result |= (ChannelFlags)(1 << (value - 1));
        }
        return result;
    }

    /// <summary>The channel with every option in effect, its state, bound endpoint and mode.</summary>
    public static Channel ToProto(ChannelEntry entry, Core.EngineLink.ChannelHandle? handle, bool engineAlive)
    {
        ChannelConfig c = entry.Config;
        var channel = new Channel
        {
            Name = entry.Name,
            Direction = (V1.ChannelDirection)((int)c.Direction + 1),
            Local = ToProto(c.Local),
            Capacity = c.Capacity,
            MaxPayload = c.MaxPayload,
            TxRingBytes = c.EffectiveTxRingBytes,
            RxRingBytes = c.EffectiveRxRingBytes,
            SendCpu = c.SendCpu,
            ReceiveCpu = c.ReceiveCpu,
            Priority = c.Priority,
            Timing = (V1.TimingStrategy)((int)c.Timing + 1),
            SpinMarginNs = c.SpinMarginNs,
            LatePolicy = (V1.LatePolicy)((int)c.LatePolicy + 1),
            ClientExit = (V1.ClientExitPolicy)(int)c.ClientExit, // same numbers: 1 drain, 2 drop
            LateToleranceNs = c.LateToleranceNs,
            BatchSize = c.BatchSize,
            SocketBufferBytes = c.SocketBufferBytes,
            Timestamps = (V1.TimestampMode)((int)c.Timestamps + 1),
            LaunchTime = (V1.LaunchTimeMode)((int)c.LaunchTime + 1),
            LaunchLeadNs = c.LaunchLeadNs,
            HardwareStampTimeoutNs = c.HardwareStampTimeoutNs,
            FlowId = c.FlowId,
            FlowClock = (V1.FlowClock)((int)c.FlowClock + 1),
            Gso = (V1.GsoMode)((int)c.Gso + 1),
            Gro = (V1.GroMode)((int)c.Gro + 1),
            ReceiveStrategy = (V1.ReceiveStrategy)((int)c.ReceiveStrategy + 1),
            BusyPollNs = c.BusyPollNs,
            DataPath = (V1.DataPath)((int)c.DataPath + 1),
            Xdp = XdpMapping.ToProto(c),
            State = engineAlive && handle is not null ? ToProto(handle.State) : V1State.Lost,
            EngineId = entry.EngineId,
        };
        if (handle is not null)
        {
            channel.BoundLocal = ToProto(handle.BoundLocal);
            channel.Mode = ToProto(handle.Region.Mode);
        }
        if (c.Remote is not null)
        {
            channel.Remote = ToProto(c.Remote);
        }
        channel.Notes.AddRange(entry.Notes);
        for (int bit = 0; bit < FlagCount; bit++)
        {
            if (((int)c.Flags & (1 << bit)) != 0)
            {
                channel.Flags.Add((ChannelFlag)(bit + 1));
            }
        }
        return channel;
    }

    public static V1State ToProto(CoreState state) => state switch
    {
        CoreState.Created => V1State.Created,
        CoreState.Running => V1State.Running,
        CoreState.Stopped => V1State.Stopped,
        CoreState.Deleted => V1State.Deleted,
        CoreState.Failed => V1State.Failed,
        _ => V1State.Unspecified,
    };

    public static Endpoint ToProto(IPEndPoint endpoint) => new() { Address = endpoint.Address.ToString(), Port = (uint)endpoint.Port };

    /// <summary>The engine's notes, and the GSO fallback it made while running (the worker writes only its errno).</summary>
    private static string Notes(in ChannelModeBlock mode)
    {
        string notes = mode.NotesText;
        if ((Core.Contract.Channels.GsoState)mode.Gso != Core.Contract.Channels.GsoState.FellBack)
        {
            return notes;
        }
        string fellBack = $"gso: fell back to one datagram per packet (sendmmsg): the kernel refused a train with {Core.Native.Errno.Describe(mode.GsoErrno)}; its packets were sent again one by one";
        return notes.Length == 0 ? fellBack : $"{notes}; {fellBack}";
    }

    public static ChannelMode ToProto(ChannelModeBlock mode)
    {
        string interfaceName = mode.InterfaceName;
        return new ChannelMode
        {
            // A mode block the engine has not filled in yet (no interface) says nothing about timestamps.
            Timestamps = interfaceName.Length == 0 && mode.Timestamps == 0 ? V1.TimestampMode.Unspecified : (V1.TimestampMode)(mode.Timestamps + 1),
            LaunchClock = (V1.LaunchClock)mode.Launch,
            Interface = interfaceName,
            Qdisc = mode.QdiscKind,
            Notes = Notes(mode),
            PhcIndex = mode.PhcIndex,
            InterfaceIndex = mode.InterfaceIndex,
            TaiOffsetSeconds = mode.TaiOffsetSeconds,
            Gso = (V1.GsoState)(mode.Gso + 1),
            GsoErrno = mode.GsoErrno,
            GsoMaxSegments = mode.GsoMaxSegments,
            Gro = mode.Gro != 0,
            ReceiveWait = (V1.ReceiveWait)(mode.ReceiveWait + 1),
            Bulk = mode.Bulk != 0,
            DataPath = (V1.DataPath)(mode.DataPath + 1),
            Xdp = XdpMapping.ToProto(mode),
        };
    }
}
