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

    private static string Cpu(int cpu) => cpu < 0 ? "any" : cpu.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
