using System.Globalization;
using RtUdp.Core.Native;

namespace RtUdp.Core.Privileges;

/// <summary>
/// A thread's five capability sets as the kernel reports them in /proc/.../status (masks of bit
/// 1 &lt;&lt; CAP_*). Capabilities belong to threads, not processes: the sets of the process are
/// those of each of its threads, which is why dropping them for good needs an execve.
/// </summary>
public readonly record struct CapabilitySets(ulong Inheritable, ulong Permitted, ulong Effective, ulong Bounding, ulong Ambient)
{
    /// <summary>What the engine needs and nothing else: SCHED_FIFO, mlockall, NIC timestamping (SIOCSHWTSTAMP).</summary>
    public const ulong Engine = (1UL << Libc.CAP_NET_ADMIN) | (1UL << Libc.CAP_IPC_LOCK) | (1UL << Libc.CAP_SYS_NICE);

    /// <summary>
    /// What xdp channels need on top of <see cref="Engine"/> (docs/xdp.md, "Privileges"): AF_XDP sockets (CAP_NET_RAW),
    /// the steering program and libxdp's dispatcher (CAP_BPF, CAP_PERFMON), its pins in systemd's /sys/fs/bpf, root's
    /// and mode 0700, for an engine run as rtudp (CAP_DAC_OVERRIDE). Opt-in: the packaged unit grants them only with
    /// the drop-in deploy/systemd/rtudp-xdp.conf; the launcher hands whatever of them rtudpd was given to the engine,
    /// and rtudpd keeps none.
    /// </summary>
    public const ulong Xdp = (1UL << Libc.CAP_NET_RAW) | (1UL << Libc.CAP_BPF) | (1UL << Libc.CAP_PERFMON) | (1UL << Libc.CAP_DAC_OVERRIDE);

    /// <summary>Everything the engine may be given: <see cref="Engine"/>, plus <see cref="Xdp"/> where xdp channels are wanted.</summary>
    public const ulong EngineWithXdp = Engine | Xdp;

    /// <summary>The calling thread's sets.</summary>
    public static CapabilitySets OfCurrentThread() => Parse(File.ReadAllLines("/proc/thread-self/status"), "/proc/thread-self/status");

    /// <summary>The sets of thread <paramref name="tid"/> of process <paramref name="pid"/> (the main thread when equal).</summary>
    public static CapabilitySets OfThread(int pid, int tid)
    {
        string path = $"/proc/{pid}/task/{tid}/status";
        return Parse(File.ReadAllLines(path), path);
    }

    /// <summary>Every thread of <paramref name="pid"/>: a process holds a capability if any of its threads does.</summary>
    public static IReadOnlyList<(int Tid, CapabilitySets Sets)> OfAllThreads(int pid)
    {
        var result = new List<(int, CapabilitySets)>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            int tid = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
            try
            {
                result.Add((tid, OfThread(pid, tid)));
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
            {
                // The thread ended while we listed them.
            }
        }
        return result;
    }

    public static CapabilitySets Parse(IEnumerable<string> statusLines, string source)
    {
        ulong? inh = null, prm = null, eff = null, bnd = null, amb = null;
        foreach (string line in statusLines)
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }
            string key = line[..colon];
            ulong Value() => ulong.Parse(line.AsSpan(colon + 1).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            switch (key)
            {
                case "CapInh": inh = Value(); break;
                case "CapPrm": prm = Value(); break;
                case "CapEff": eff = Value(); break;
                case "CapBnd": bnd = Value(); break;
                case "CapAmb": amb = Value(); break;
            }
        }
        return new CapabilitySets(
            inh ?? throw Missing("CapInh"), prm ?? throw Missing("CapPrm"), eff ?? throw Missing("CapEff"),
            bnd ?? throw Missing("CapBnd"), amb ?? throw Missing("CapAmb"));

        InvalidDataException Missing(string key) => new($"{source} has no {key} line (a kernel without ambient capabilities, before 4.3, is not supported)");
    }

    /// <summary>Whether any set other than the bounding set holds a capability of <paramref name="mask"/>.</summary>
    public bool HoldsAny(ulong mask) => ((Inheritable | Permitted | Effective | Ambient) & mask) != 0;

    /// <summary>"CAP_NET_ADMIN CAP_IPC_LOCK CAP_SYS_NICE" for the engine's (and xdp's) bits of <paramref name="mask"/>, plus any other bits in hex.</summary>
    public static string Describe(ulong mask)
    {
        if (mask == 0)
        {
            return "none";
        }
        var names = new List<string>();
        foreach ((int bit, string name) in new[]
        {
            (Libc.CAP_NET_ADMIN, "CAP_NET_ADMIN"), (Libc.CAP_IPC_LOCK, "CAP_IPC_LOCK"), (Libc.CAP_SYS_NICE, "CAP_SYS_NICE"),
            (Libc.CAP_NET_RAW, "CAP_NET_RAW"), (Libc.CAP_BPF, "CAP_BPF"), (Libc.CAP_PERFMON, "CAP_PERFMON"), (Libc.CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"),
        })
        {
            if ((mask & (1UL << bit)) != 0)
            {
                names.Add(name);
                mask &= ~(1UL << bit);
            }
        }
        if (mask != 0)
        {
            names.Add($"0x{mask:x}");
        }
        return string.Join(' ', names);
    }

    /// <summary>
    /// Empties the calling thread's ambient and inheritable sets, so that its next execve of a binary
    /// without file capabilities (by a user other than root) leaves the new image with no capability
    /// in any set. Effective and permitted stay until that execve.
    /// </summary>
    public static unsafe void ClearInheritableAndAmbientOfCurrentThread()
    {
        Errno.Check(Libc.prctl(Libc.PR_CAP_AMBIENT, (nuint)Libc.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)");
        var header = new Libc.__user_cap_header_struct { version = Libc._LINUX_CAPABILITY_VERSION_3, pid = 0 };
        Libc.__user_cap_data_struct* data = stackalloc Libc.__user_cap_data_struct[Libc._LINUX_CAPABILITY_U32S_3];
        Errno.Check(Libc.capget(&header, data), "capget");
        for (int i = 0; i < Libc._LINUX_CAPABILITY_U32S_3; i++)
        {
            data[i].inheritable = 0;
        }
        Errno.Check(Libc.capset(&header, data), "capset (clearing the inheritable set)");
    }

    public override string ToString() =>
        $"CapInh {Inheritable:x16} CapPrm {Permitted:x16} CapEff {Effective:x16} CapBnd {Bounding:x16} CapAmb {Ambient:x16}";
}
