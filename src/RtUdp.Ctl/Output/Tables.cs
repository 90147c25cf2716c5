using RtUdp.V1;

namespace RtUdp.Ctl.Output;

/// <summary>The tables rtudpctl prints for API objects.</summary>
internal static class Tables
{
    public static string Channels(IEnumerable<Channel> channels)
    {
        var table = new Table("NAME", "STATE", "DIRECTION", "LOCAL", "REMOTE", "CAPACITY", "PRIORITY", "CPU", "TIMING", "TIMESTAMPS");
        foreach (Channel c in channels)
        {
            string cpu = c.Direction switch
            {
                ChannelDirection.Send => Cpu(c.SendCpu),
                ChannelDirection.Receive => Cpu(c.ReceiveCpu),
                _ => c.SendCpu == c.ReceiveCpu ? Cpu(c.SendCpu) : $"{Cpu(c.SendCpu)}/{Cpu(c.ReceiveCpu)}",
            };
            table.Add(c.Name["channels/".Length..], c.State, c.Direction, Text.Endpoint(c.BoundLocal ?? c.Local), Text.Endpoint(c.Remote),
                c.Capacity, c.Priority, cpu, c.Timing, c.Mode?.Timestamps ?? c.Timestamps);
        }
        return table.ToString();
    }

    /// <summary>How packets leave and arrive, as the engine put it in effect: "send: gso trains of up to 32; receive: gro, busy-poll (spin)".</summary>
    public static string? DataPath(Channel c)
    {
        if (c.Mode is not { } mode || mode.Interface.Length == 0)
        {
            return null;
        }
        List<string> parts = [];
        if (mode.DataPath == RtUdp.V1.DataPath.Xdp && mode.Xdp is { } xdp)
        {
            return XdpPath(c, mode, xdp);
        }
        if (c.Direction is ChannelDirection.Send or ChannelDirection.Duplex)
        {
            string send = mode.Gso switch
            {
                GsoState.Trains => $"gso trains of up to {mode.GsoMaxSegments}",
                GsoState.FellBack => $"sendmmsg (gso trains refused: errno {mode.GsoErrno})",
                _ => "sendmmsg",
            };
            parts.Add($"send: {(mode.Bulk ? "bulk, " : "")}{send}");
        }
        if (c.Direction is ChannelDirection.Receive or ChannelDirection.Duplex)
        {
            string wait = mode.ReceiveWait switch
            {
                ReceiveWait.Spin => "busy-poll (spin)",
                ReceiveWait.KernelBusyPoll => "busy-poll (SO_BUSY_POLL)",
                _ => "poll",
            };
            parts.Add($"receive: {(mode.Gro ? "gro, " : "")}{wait}");
        }
        return string.Join("; ", parts);
    }

    /// <summary>"xdp on enp1s0 queue 0, copy mode, program generic; send: bulk, to 02:..; device offers: none".</summary>
    private static string XdpPath(Channel c, ChannelMode mode, XdpMode xdp)
    {
        List<string> parts = [$"xdp on {mode.Interface} queue {xdp.Queue}, {(xdp.ZeroCopy ? "zero-copy" : "copy mode")}"];
        if (xdp.AttachMode != XdpAttachMode.Unspecified)
        {
            parts.Add($"program {(xdp.AttachMode == XdpAttachMode.Native ? "native" : "generic")}");
        }
        if (c.Direction is ChannelDirection.Send or ChannelDirection.Duplex)
        {
            List<string> metadata = [];
            if (xdp.TxChecksumOffload)
            {
                metadata.Add("checksum");
            }
            if (xdp.TxTimestamps)
            {
                metadata.Add("tx timestamps");
            }
            if (xdp.LaunchTime)
            {
                metadata.Add("launch time");
            }
            parts.Add($"send: {(mode.Bulk ? "bulk, " : "")}to {xdp.NextHopMac}{(metadata.Count == 0 ? "" : $", tx metadata: {string.Join(", ", metadata)}")}");
        }
        parts.Add($"device offers: {(xdp.DeviceFeatures.Length == 0 ? "none" : xdp.DeviceFeatures)}");
        return string.Join("; ", parts);
    }

    private static string Cpu(int cpu) => cpu < 0 ? "any" : cpu.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
