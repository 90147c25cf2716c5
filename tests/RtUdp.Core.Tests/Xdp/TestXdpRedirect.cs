using System.Runtime.InteropServices;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Test scaffolding only (the engine's XDP program and loader are their own piece): the smallest XDP program that
/// hands every packet of an interface to the AF_XDP socket in an XSKMAP at its queue index, made with raw bpf(2)
/// (five instructions, no libbpf, no compiler) and attached in generic (SKB) mode with a BPF link. Disposing closes
/// the link, program and map fds, which detaches the program.
/// </summary>
internal sealed unsafe class TestXdpRedirect : IDisposable
{
    private const int BPF_MAP_CREATE = 0;
    private const int BPF_MAP_UPDATE_ELEM = 2;
    private const int BPF_PROG_LOAD = 5;
    private const int BPF_LINK_CREATE = 28;
    private const int BPF_MAP_TYPE_XSKMAP = 17;
    private const int BPF_PROG_TYPE_XDP = 6;
    private const int BPF_XDP = 37;
    private const int XDP_FLAGS_SKB_MODE = 1 << 1;
    private const int XDP_PASS = 2;
    private const int BPF_FUNC_redirect_map = 51;
    private const int AttrSize = 128;

    private static readonly int SYS_bpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        var other => throw new PlatformNotSupportedException($"SYS_bpf for {other}"),
    };

    private readonly int _map = -1;
    private readonly int _program = -1;
    private readonly int _link = -1;

    /// <summary>Attaches to <paramref name="ifIndex"/> (in the calling thread's namespace) redirecting queue <paramref name="queue"/> to <paramref name="xskFd"/>.</summary>
    public TestXdpRedirect(int ifIndex, uint queue, int xskFd)
    {
        try
        {
            byte* attr = stackalloc byte[AttrSize];
            Clear(attr);
            *(uint*)attr = BPF_MAP_TYPE_XSKMAP;
            *(uint*)(attr + 4) = 4; // key: queue index
            *(uint*)(attr + 8) = 4; // value: socket fd
            *(uint*)(attr + 12) = queue + 1;
            _map = Bpf(BPF_MAP_CREATE, attr, "BPF_MAP_CREATE(XSKMAP)");

            Clear(attr);
            uint key = queue;
            int value = xskFd;
            *(uint*)attr = (uint)_map;
            *(ulong*)(attr + 8) = (ulong)&key;
            *(ulong*)(attr + 16) = (ulong)&value;
            _ = Bpf(BPF_MAP_UPDATE_ELEM, attr, "BPF_MAP_UPDATE_ELEM(XSKMAP)");

            // r2 = ctx->rx_queue_index; r1 = map; r3 = XDP_PASS (the action when the slot is empty);
            // return bpf_redirect_map(r1, r2, r3).
            ulong* insns = stackalloc ulong[6];
            insns[0] = Insn(0x61, dst: 2, src: 1, off: 16, imm: 0);
            insns[1] = Insn(0x18, dst: 1, src: 1, off: 0, imm: _map); // ld_imm64, BPF_PSEUDO_MAP_FD
            insns[2] = 0;
            insns[3] = Insn(0xb7, dst: 3, src: 0, off: 0, imm: XDP_PASS);
            insns[4] = Insn(0x85, dst: 0, src: 0, off: 0, imm: BPF_FUNC_redirect_map);
            insns[5] = Insn(0x95, dst: 0, src: 0, off: 0, imm: 0);
            byte* license = stackalloc byte[] { (byte)'G', (byte)'P', (byte)'L', 0 };
            const int LogSize = 4096;
            byte* log = stackalloc byte[LogSize];
            log[0] = 0;
            Clear(attr);
            *(uint*)attr = BPF_PROG_TYPE_XDP;
            *(uint*)(attr + 4) = 6;
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)license;
            *(uint*)(attr + 24) = 1; // log_level
            *(uint*)(attr + 28) = LogSize;
            *(ulong*)(attr + 32) = (ulong)log;
            *(uint*)(attr + 68) = BPF_XDP; // expected_attach_type
            int program = (int)Libc.syscall(SYS_bpf, BPF_PROG_LOAD, (nint)attr, AttrSize, 0, 0, 0);
            if (program < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new InvalidOperationException($"BPF_PROG_LOAD failed: {Errno.Describe(errno)}: {Marshal.PtrToStringUTF8((nint)log)}");
            }
            _program = program;

            Clear(attr);
            *(uint*)attr = (uint)_program;
            *(uint*)(attr + 4) = (uint)ifIndex;
            *(uint*)(attr + 8) = BPF_XDP;
            *(uint*)(attr + 12) = XDP_FLAGS_SKB_MODE;
            _link = Bpf(BPF_LINK_CREATE, attr, "BPF_LINK_CREATE(XDP, SKB mode)");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static ulong Insn(byte code, int dst, int src, short off, int imm) =>
        code | (ulong)(byte)(dst | (src << 4)) << 8 | (ulong)(ushort)off << 16 | (ulong)(uint)imm << 32;

    private static void Clear(byte* attr) => new Span<byte>(attr, AttrSize).Clear();

    private static int Bpf(int command, byte* attr, string what)
    {
        int fd = (int)Libc.syscall(SYS_bpf, command, (nint)attr, AttrSize, 0, 0, 0);
        return fd < 0 ? throw new NativeCallException(what, Marshal.GetLastPInvokeError()) : fd;
    }

    public void Dispose()
    {
        foreach (int fd in new[] { _link, _program, _map })
        {
            if (fd >= 0)
            {
                _ = Tmds.Linux.LibC.close(fd);
            }
        }
    }
}
