using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine;

/// <summary>What a receiving channel's socket was given for GRO and busy-poll, and, in words, what the kernel refused.</summary>
/// <param name="Gro">UDP_GRO is on: datagrams may come coalesced.</param>
/// <param name="Wait">How the receive worker waits, as far as can be told before any datagram came (Poll or Spin).</param>
/// <param name="KernelBusyPoll">SO_BUSY_POLL took: a read polls the device's queue when the socket's datagrams come from a NAPI device.</param>
public sealed record ReceiveSocketSetup(bool Gro, ReceiveWait Wait, bool KernelBusyPoll, IReadOnlyList<string> Notes)
{
    public static readonly ReceiveSocketSetup None = new(false, ReceiveWait.Poll, false, []);
}

/// <summary>
/// Sets the receive-side socket options a channel asks for, once, when its socket opens: UDP_GRO (gro auto/on)
/// and, for the busy-poll strategy, SO_BUSY_POLL, SO_PREFER_BUSY_POLL and SO_BUSY_POLL_BUDGET. A busy-poll
/// option the kernel refuses (EPERM: raising them needs CAP_NET_ADMIN) is noted, not fatal: the worker still
/// spins on its reads. GRO follows <see cref="ChannelModePlan.DecideGro"/>.
/// </summary>
public static unsafe class ReceiveSocketOptions
{
    /// <summary>The kernel's default SO_BUSY_POLL_BUDGET (BUSY_POLL_BUDGET): packets one poll of the device takes.</summary>
    private const int KernelDefaultBusyPollBudget = 8;

    /// <exception cref="Contract.Control.EngineCommandException">Gro On and the kernel refused UDP_GRO.</exception>
    public static ReceiveSocketSetup Apply(int fd, ChannelConfig config)
    {
        if (!config.Receives)
        {
            return ReceiveSocketSetup.None;
        }
        List<string> notes = [];
        int groErrno = config.Gro == GroMode.Off ? 0 : TrySet(fd, Libc.SOL_UDP, Libc.UDP_GRO, 1);
        bool gro = ChannelModePlan.DecideGro(config.Gro, config.Receives, groErrno, notes);
        if (config.ReceiveStrategy != ReceiveStrategy.BusyPoll)
        {
            return new ReceiveSocketSetup(gro, ReceiveWait.Poll, false, notes);
        }

        // sk_ll_usec: how long one blocking read may poll the device. The worker reads with MSG_DONTWAIT, where the
        // kernel polls the device once per read, so any non-zero value arms it; the window is the worker's own.
        int microseconds = (int)Math.Clamp(config.BusyPollNs / 1000, 1, int.MaxValue);
        bool kernelBusyPoll = SetOrNote(fd, SOL_SOCKET, SO_BUSY_POLL, microseconds, "SO_BUSY_POLL", "above net.core.busy_read", notes);
        if (kernelBusyPoll)
        {
            _ = SetOrNote(fd, SOL_SOCKET, Libc.SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL", "", notes);
            if (config.BatchSize > KernelDefaultBusyPollBudget)
            {
                // One poll of the device may bring a whole batch.
                _ = SetOrNote(fd, SOL_SOCKET, Libc.SO_BUSY_POLL_BUDGET, config.BatchSize, "SO_BUSY_POLL_BUDGET", $"above the default {KernelDefaultBusyPollBudget}", notes);
            }
        }
        return new ReceiveSocketSetup(gro, ReceiveWait.Spin, kernelBusyPoll, notes);
    }

    /// <returns>0, or the errno setsockopt failed with.</returns>
    public static int TrySet(int fd, int level, int option, int value)
    {
        return setsockopt(fd, level, option, &value, sizeof(int)) == 0 ? 0 : errno;
    }

    private static bool SetOrNote(int fd, int level, int option, int value, string name, string raising, List<string> notes)
    {
        int error = TrySet(fd, level, option, value);
        if (error == 0)
        {
            return true;
        }
        string hint = error is Errno.EPERM or Errno.EACCES
            ? $": setting it{(raising.Length > 0 ? " " + raising : "")} needs CAP_NET_ADMIN"
            : "";
        notes.Add($"receive_strategy: busy_poll without {name} ({Errno.Describe(error)}{hint}); the worker still spins on its reads");
        return false;
    }
}
