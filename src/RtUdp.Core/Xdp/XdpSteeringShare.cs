using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Xdp;

/// <summary>
/// One steering program per interface for all of an engine's xdp channels there: its maps are keyed by queue and
/// port, so each channel adds its own (queue, port) and its socket for the queue. Sharing is what lets two channels
/// on two queues of one interface coexist where the kernel cannot run libxdp's dispatcher (no BPF_PROG_TYPE_EXT:
/// then an interface takes one XDP program), and it spares the dispatcher a program run per channel where it can.
/// Conductor thread only (channels are created and deleted there).
/// </summary>
public static class XdpSteeringShare
{
    private static readonly Dictionary<int, Entry> Programs = [];

    private sealed class Entry(XdpSteeringProgram program)
    {
        public XdpSteeringProgram Program { get; } = program;
        public int Users { get; set; }
    }

    /// <summary>The program on <paramref name="ifindex"/>, attached now if no channel of this engine has one there.</summary>
    /// <exception cref="XdpException">Attaching failed, or a channel asks for a mode other than the one the program runs in.</exception>
    public static XdpSteeringProgram Acquire(int ifindex, XdpAttachMode mode)
    {
        if (!Programs.TryGetValue(ifindex, out Entry? entry))
        {
            entry = new Entry(XdpSteeringProgram.Attach(ifindex, mode));
            Programs[ifindex] = entry;
        }
        else if (mode != XdpAttachMode.Auto && mode != entry.Program.ModeInEffect)
        {
            throw new XdpException($"attach_mode {mode} asked on {entry.Program.InterfaceName}, where this engine's steering program for other channels runs {entry.Program.ModeInEffect}: channels on one interface share it (ask auto, or {entry.Program.ModeInEffect})");
        }
        entry.Users++;
        return entry.Program;
    }

    /// <summary>A channel is done with the program (its ports unsteered): the last one detaches it.</summary>
    public static void Release(XdpSteeringProgram program)
    {
        if (!Programs.TryGetValue(program.Ifindex, out Entry? entry) || entry.Program != program)
        {
            program.Dispose();
            return;
        }
        if (--entry.Users == 0)
        {
            Programs.Remove(program.Ifindex);
            program.Dispose();
        }
    }
}
