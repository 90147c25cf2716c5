using RtUdp.Core.Contract.Channels;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The receive half of an xdp channel: RtUdp's steering program (rtudp_xdp.bpf.o, program <see cref="ProgramName"/>)
/// attached to one interface through libxdp's multi-program dispatcher. <see cref="Steer"/> sends one queue's
/// datagrams for one UDP port to an AF_XDP socket; everything else, and a steered port whose socket is gone,
/// passes to the kernel (docs/xdp.md). <see cref="Dispose"/> detaches this program only; programs of other XDP
/// users, and other channels' programs, stay.
/// <para>Interface indexes belong to a network namespace: every call acts in the calling thread's one.
/// Control path: not for the real-time threads. Thread-safe (libxdp calls are serialised).</para>
/// </summary>
public sealed unsafe class XdpSteeringProgram : IDisposable
{
    /// <summary>The program's name (its function in rtudp_xdp.bpf.c), how <see cref="DetachLeftovers"/> recognises ours.</summary>
    public const string ProgramName = "rtudp_steer";

    /// <summary>The object file's name, installed next to rtudp-engine.</summary>
    public const string ObjectFileName = "rtudp_xdp.bpf.o";

    /// <summary>Entries of the XSKMAP: queues 0 to 255 can be steered (RTUDP_MAX_QUEUES in the C source).</summary>
    public const int MaxQueues = 256;

    /// <summary>(queue, port) pairs one program can steer (RTUDP_MAX_PORTS).</summary>
    public const int MaxPorts = 1024;

    private readonly Dictionary<uint, HashSet<ushort>> _steered = [];
    private readonly Dictionary<uint, int> _sockets = [];
    private nint _program;
    private readonly int _portsFd;
    private readonly int _xsksFd;
    private readonly Libxdp.xdp_attach_mode _mode;

    private XdpSteeringProgram(nint program, int ifindex, string iface, XdpAttachMode requested, Libxdp.xdp_attach_mode mode, int portsFd, int xsksFd, bool dispatcher)
    {
        _program = program;
        Ifindex = ifindex;
        InterfaceName = iface;
        RequestedMode = requested;
        _mode = mode;
        ModeInEffect = mode == Libxdp.xdp_attach_mode.XDP_MODE_SKB ? XdpAttachMode.Generic : XdpAttachMode.Native;
        ProgramId = Libxdp.xdp_program__id(program);
        _portsFd = portsFd;
        _xsksFd = xsksFd;
        UsesDispatcher = dispatcher;
    }

    /// <summary><see cref="ObjectFileName"/> next to the running program (rtudp-engine, or a test's output directory).</summary>
    public static string DefaultObjectPath => System.IO.Path.Combine(AppContext.BaseDirectory, ObjectFileName);

    public int Ifindex { get; }

    /// <summary>The interface's name when attached (for messages).</summary>
    public string InterfaceName { get; }

    public XdpAttachMode RequestedMode { get; }

    /// <summary><see cref="XdpAttachMode.Native"/> or <see cref="XdpAttachMode.Generic"/>: what the kernel runs (the interface's dispatcher's mode).</summary>
    public XdpAttachMode ModeInEffect { get; }

    /// <summary>The kernel's id of this program (as bpftool and xdp-loader status show it).</summary>
    public uint ProgramId { get; }

    /// <summary>False when libxdp fell back to a single program without its dispatcher (old kernel): no other XDP user can share the interface then.</summary>
    public bool UsesDispatcher { get; }

    /// <summary>
    /// Loads the steering program from <paramref name="objectPath"/> (default <see cref="DefaultObjectPath"/>) and adds
    /// it to the dispatcher on <paramref name="ifindex"/> (creating the dispatcher when there is none). Makes sure
    /// of a bpffs first (<see cref="XdpBpffs.Ensure"/>). Nothing is steered until <see cref="Steer"/>.
    /// </summary>
    /// <exception cref="XdpException">No such interface, no bpffs, the program refused (verifier log quoted), the mode refused.</exception>
    public static XdpSteeringProgram Attach(int ifindex, XdpAttachMode mode = XdpAttachMode.Auto, string? objectPath = null)
    {
        string iface = Describe(ifindex);
        objectPath ??= DefaultObjectPath;
        if (!File.Exists(objectPath))
        {
            throw new XdpException(
                $"the xdp steering program {objectPath} is missing: rtudp-engine was built without it (its build needs clang, " +
                "libbpf-dev and libxdp-dev: apt-get install clang libbpf-dev libxdp-dev), or the installation lost it (the package puts it next to rtudp-engine)");
        }
        XdpBpffs.Ensure();
        lock (XdpLibraryLog.Gate)
        {
            Libxdp.xdp_attach_mode[] attempts = mode switch
            {
                XdpAttachMode.Native => [Libxdp.xdp_attach_mode.XDP_MODE_NATIVE],
                XdpAttachMode.Generic => [Libxdp.xdp_attach_mode.XDP_MODE_SKB],
                _ => [Libxdp.xdp_attach_mode.XDP_MODE_NATIVE, Libxdp.xdp_attach_mode.XDP_MODE_SKB],
            };
            XdpException? failure = null;
            foreach (Libxdp.xdp_attach_mode attempt in attempts)
            {
                // A fresh object per attempt: a failed attach may leave the first one half loaded.
                XdpFdLeakGuard guard = XdpFdLeakGuard.Begin();
                nint program = Open(objectPath, iface);
                XdpLibraryLog.BeginCall();
                int err = Libxdp.xdp_program__attach(program, ifindex, attempt, 0);
                if (err < 0)
                {
                    // Auto: the native attempt's failure goes into the message of the generic one's.
                    string? log = failure is null ? XdpLibraryLog.Recorded() : $"after [{failure.Message}]: {XdpLibraryLog.Recorded()}";
                    failure = new XdpException($"xdp_program__attach ({attempt})", iface, -err, log);
                    Libxdp.xdp_program__close(program);
                    guard.End();
                    continue;
                }
                try
                {
                    XdpSteeringProgram attached = Attached(program, ifindex, iface, mode);
                    guard.End(OwnProgramFds(program));
                    return attached;
                }
                catch
                {
                    Libxdp.xdp_program__detach(program, ifindex, attempt, 0);
                    Libxdp.xdp_program__close(program);
                    guard.End();
                    throw;
                }
            }
            throw failure!;
        }
    }

    /// <summary>
    /// Steers datagrams arriving on <paramref name="queue"/> for UDP port <paramref name="port"/> to the AF_XDP socket
    /// <paramref name="xskFd"/> (bound to this interface and queue). <paramref name="xskFd"/> -1 lists the port
    /// without a socket: its datagrams still pass until one is registered. One socket per queue: a later
    /// <paramref name="xskFd"/> replaces the queue's socket for all its ports.
    /// </summary>
    public void Steer(int queue, ushort port, int xskFd)
    {
        uint q = CheckQueue(queue);
        lock (XdpLibraryLog.Gate)
        {
            ObjectDisposedException.ThrowIf(_program == 0, this);
            if (xskFd >= 0)
            {
                int value = xskFd;
                XdpLibraryLog.BeginCall();
                Check(Libbpf.bpf_map_update_elem(_xsksFd, &q, &value, Libbpf.BPF_ANY), "bpf_map_update_elem(xsks)");
                _sockets[q] = xskFd;
            }
            SteerKey key = Key(q, port);
            uint one = 1;
            XdpLibraryLog.BeginCall();
            Check(Libbpf.bpf_map_update_elem(_portsFd, &key, &one, Libbpf.BPF_ANY), "bpf_map_update_elem(ports)");
            if (!_steered.TryGetValue(q, out HashSet<ushort>? ports))
            {
                _steered[q] = ports = [];
            }
            ports.Add(port);
        }
    }

    /// <summary>Stops steering <paramref name="port"/> on <paramref name="queue"/>; the queue's socket leaves the XSKMAP with its last port. Not steered: no-op.</summary>
    public void Unsteer(int queue, ushort port)
    {
        uint q = CheckQueue(queue);
        lock (XdpLibraryLog.Gate)
        {
            ObjectDisposedException.ThrowIf(_program == 0, this);
            if (!_steered.TryGetValue(q, out HashSet<ushort>? ports) || !ports.Remove(port))
            {
                return;
            }
            SteerKey key = Key(q, port);
            XdpLibraryLog.BeginCall();
            CheckDelete(Libbpf.bpf_map_delete_elem(_portsFd, &key), "bpf_map_delete_elem(ports)");
            if (ports.Count == 0)
            {
                _steered.Remove(q);
                if (_sockets.Remove(q))
                {
                    XdpLibraryLog.BeginCall();
                    CheckDelete(Libbpf.bpf_map_delete_elem(_xsksFd, &q), "bpf_map_delete_elem(xsks)");
                }
            }
        }
    }

    /// <summary>Detaches this program (the dispatcher keeps the others; the last one out removes it) and frees its handles. Already detached by someone else: not an error.</summary>
    /// <exception cref="XdpException">libxdp could not detach it (the handles are freed anyway).</exception>
    public void Dispose()
    {
        lock (XdpLibraryLog.Gate)
        {
            nint program = _program;
            if (program == 0)
            {
                return;
            }
            _program = 0;
            XdpFdLeakGuard guard = XdpFdLeakGuard.Begin();
            XdpLibraryLog.BeginCall();
            // The mode it was attached in: libxdp detaches a program attached without dispatcher (legacy) with
            // that mode's flags, and XDP_MODE_UNSPEC would ask the kernel for the native slot.
            int err = Libxdp.xdp_program__detach(program, Ifindex, _mode, 0);
            string? log = XdpLibraryLog.Recorded();
            Libxdp.xdp_program__close(program);
            guard.End();
            if (err < 0 && err != -Errno.ENOENT)
            {
                throw new XdpException("xdp_program__detach", InterfaceName, -err, log);
            }
        }
    }

    /// <summary>
    /// Detaches the programs named <see cref="ProgramName"/> from <paramref name="ifindex"/> (in the calling thread's
    /// network namespace) that no process holds any more, i.e. left by an engine that was killed or crashed; other XDP
    /// users' programs stay, and so do the programs of live engines (and of this process) unless
    /// <paramref name="evenIfHeld"/>. Returns how many were removed (0 also when the interface has no XDP program).
    /// </summary>
    /// <param name="evenIfHeld">Also remove ours that a live process holds (the daemon's "no engine of mine runs" clean-up).</param>
    public static int DetachLeftovers(int ifindex, bool evenIfHeld = false)
    {
        string iface = Describe(ifindex);
        XdpBpffs.Ensure();
        int removed = 0;
        lock (XdpLibraryLog.Gate)
        {
            // One at a time: each detach replaces the dispatcher, so the listing is read again.
            for (int round = 0; round < 64; round++)
            {
                // Read before libxdp opens the interface's programs below (it holds them while listing).
                HashSet<uint> held = evenIfHeld ? [] : XdpProgramHolders.HeldProgramIds();
                if (!TryOpenPrograms(ifindex, iface, out nint mp, out XdpFdLeakGuard guard))
                {
                    return removed;
                }
                try
                {
                    nint ours = Members(mp).FirstOrDefault(p => Name(p) == ProgramName && !held.Contains(Libxdp.xdp_program__id(p)));
                    if (ours == 0)
                    {
                        return removed;
                    }
                    XdpLibraryLog.BeginCall();
                    int err = Libxdp.xdp_program__detach(ours, ifindex, Libxdp.xdp_multiprog__attach_mode(mp), 0);
                    if (err < 0)
                    {
                        throw new XdpException("xdp_program__detach", iface, -err, XdpLibraryLog.Recorded());
                    }
                    removed++;
                }
                finally
                {
                    Libxdp.xdp_multiprog__close(mp);
                    guard.End();
                }
            }
        }
        return removed;
    }

    /// <summary>The XDP programs on <paramref name="ifindex"/>, in run order (a legacy single program too): name and id. Empty when none.</summary>
    public static IReadOnlyList<(string Name, uint Id)> ListPrograms(int ifindex)
    {
        string iface = Describe(ifindex);
        XdpBpffs.Ensure();
        var list = new List<(string, uint)>();
        lock (XdpLibraryLog.Gate)
        {
            if (!TryOpenPrograms(ifindex, iface, out nint mp, out XdpFdLeakGuard guard))
            {
                return list;
            }
            try
            {
                foreach (nint p in Members(mp))
                {
                    list.Add((Name(p), Libxdp.xdp_program__id(p)));
                }
            }
            finally
            {
                Libxdp.xdp_multiprog__close(mp);
                guard.End();
            }
        }
        return list;
    }

    /// <summary>
    /// The interface's programs as libxdp sees them (close with xdp_multiprog__close, then end the guard: libxdp
    /// before 1.4.1 leaks a descriptor per call); false when the interface has no XDP program.
    /// </summary>
    private static bool TryOpenPrograms(int ifindex, string iface, out nint programs, out XdpFdLeakGuard guard)
    {
        guard = XdpFdLeakGuard.Begin();
        XdpLibraryLog.BeginCall();
        programs = Libxdp.xdp_multiprog__get_from_ifindex(ifindex);
        int err = Libxdp.Error((void*)programs);
        if (err >= 0)
        {
            return true;
        }
        guard.End();
        if (err == -Errno.ENOENT)
        {
            return false;
        }
        throw new XdpException("xdp_multiprog__get_from_ifindex", iface, -err, XdpLibraryLog.Recorded());
    }

    private static XdpSteeringProgram Attached(nint program, int ifindex, string iface, XdpAttachMode requested)
    {
        Libxdp.xdp_attach_mode mode = Libxdp.xdp_program__is_attached(program, ifindex);
        if (mode == Libxdp.xdp_attach_mode.XDP_MODE_UNSPEC)
        {
            throw new XdpException("xdp_program__is_attached", iface, Errno.ENOENT, "attached, yet not found on the interface");
        }
        nint obj = Libxdp.xdp_program__bpf_obj(program);
        int portsFd = MapFd(obj, "ports", iface);
        int xsksFd = MapFd(obj, "xsks", iface);
        bool dispatcher;
        nint mp = Libxdp.xdp_multiprog__get_from_ifindex(ifindex);
        if (Libxdp.Error((void*)mp) < 0)
        {
            dispatcher = false;
        }
        else
        {
            dispatcher = !Libxdp.xdp_multiprog__is_legacy(mp);
            Libxdp.xdp_multiprog__close(mp);
        }
        return new XdpSteeringProgram(program, ifindex, iface, requested, mode, portsFd, xsksFd, dispatcher);
    }

    /// <summary>The programs the dispatcher runs, in order; for a legacy attachment (a single program without dispatcher), that program.</summary>
    private static List<nint> Members(nint mp)
    {
        var members = new List<nint>();
        if (Libxdp.xdp_multiprog__is_legacy(mp))
        {
            nint main = Libxdp.xdp_multiprog__main_prog(mp);
            if (Libxdp.Error((void*)main) == 0)
            {
                members.Add(main);
            }
            return members;
        }
        for (nint p = Libxdp.xdp_multiprog__next_prog(0, mp); Libxdp.Error((void*)p) == 0; p = Libxdp.xdp_multiprog__next_prog(p, mp))
        {
            members.Add(p);
        }
        return members;
    }

    /// <summary>The descriptors of an attached program that must stay open: libxdp's own and the bpf_object's (libxdp duplicates the latter).</summary>
    private static int[] OwnProgramFds(nint program)
    {
        int own = Libxdp.xdp_program__fd(program);
        int objects = -1;
        byte[] name = Encoding.UTF8.GetBytes(ProgramName + "\0");
        fixed (byte* pn = name)
        {
            nint bpfProgram = Libbpf.bpf_object__find_program_by_name(Libxdp.xdp_program__bpf_obj(program), pn);
            if (Libxdp.Error((void*)bpfProgram) == 0)
            {
                objects = Libbpf.bpf_program__fd(bpfProgram);
            }
        }
        return [own, objects];
    }

    private static nint Open(string path, string iface)
    {
        byte[] file = Encoding.UTF8.GetBytes(path + "\0");
        byte[] section = "xdp\0"u8.ToArray();
        XdpLibraryLog.BeginCall();
        fixed (byte* pf = file, ps = section)
        {
            // The program in ELF section "xdp" (the object holds only rtudp_steer).
            nint program = Libxdp.xdp_program__open_file(pf, ps, null);
            int err = Libxdp.Error((void*)program);
            if (err < 0)
            {
                throw new XdpException($"xdp_program__open_file({path})", iface, -err, XdpLibraryLog.Recorded());
            }
            return program;
        }
    }

    private static int MapFd(nint obj, string name, string iface)
    {
        byte[] n = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* pn = n)
        {
            int fd = Libbpf.bpf_object__find_map_fd_by_name(obj, pn);
            if (fd < 0)
            {
                throw new XdpException($"bpf_object__find_map_fd_by_name({name})", iface, -fd, null);
            }
            return fd;
        }
    }

    private static string Name(nint program)
    {
        byte* name = Libxdp.xdp_program__name(program);
        return name == null ? "" : Marshal.PtrToStringUTF8((nint)name) ?? "";
    }

    /// <summary>"veth0 (ifindex 3)"; throws when the index names no interface in this thread's network namespace.</summary>
    private static string Describe(int ifindex)
    {
        byte* name = stackalloc byte[Libc.IFNAMSIZ];
        if (ifindex <= 0 || Libc.if_indextoname((uint)ifindex, name) == null)
        {
            int errno = ifindex <= 0 ? Errno.ENODEV : Marshal.GetLastPInvokeError();
            throw new XdpException("if_indextoname", $"ifindex {ifindex}", errno, "no such interface in this network namespace");
        }
        return $"{Marshal.PtrToStringUTF8((nint)name)} (ifindex {ifindex})";
    }

    private static uint CheckQueue(int queue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(queue);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(queue, MaxQueues);
        return (uint)queue;
    }

    private void Check(int result, string call)
    {
        if (result < 0)
        {
            throw new XdpException(call, InterfaceName, -result, XdpLibraryLog.Recorded());
        }
    }

    private void CheckDelete(int result, string call)
    {
        if (result < 0 && result != -Errno.ENOENT)
        {
            Check(result, call);
        }
    }

    private static SteerKey Key(uint queue, ushort port) =>
        new() { Queue = queue, Port = BinaryPrimitives.ReverseEndianness(port) };

    /// <summary>struct rtudp_steer_key: the rx queue (host order), the UDP port as on the wire, zero padding.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 8)]
    private struct SteerKey
    {
        public uint Queue;
        public ushort Port;
        public ushort Reserved;
    }
}
