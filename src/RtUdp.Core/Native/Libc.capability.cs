using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;linux/capability.h&gt;: per-thread capability sets (capget/capset).</summary>
public static unsafe partial class Libc
{
    public const uint _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    public const int _LINUX_CAPABILITY_U32S_3 = 2;

    /// <summary>Bypasses file permission checks: libxdp's pins in systemd's /sys/fs/bpf (root's, mode 0700) for an engine run as rtudp.</summary>
    public const int CAP_DAC_OVERRIDE = 1;

    public const int CAP_NET_ADMIN = 12;

    /// <summary>Raw and packet sockets, and AF_XDP sockets.</summary>
    public const int CAP_NET_RAW = 13;
    public const int CAP_IPC_LOCK = 14;
    public const int CAP_SYS_NICE = 23;

    /// <summary>Mounting a bpffs (and, before Linux 5.8, everything CAP_BPF and CAP_PERFMON give).</summary>
    public const int CAP_SYS_ADMIN = 21;

    /// <summary>Linux 5.8+: performance monitoring; with CAP_BPF, loading BPF_PROG_TYPE_EXT (libxdp's dispatcher slots).</summary>
    public const int CAP_PERFMON = 38;

    /// <summary>Linux 5.8+: loading BPF programs, creating maps.</summary>
    public const int CAP_BPF = 39;

    [StructLayout(LayoutKind.Sequential)]
    public struct __user_cap_header_struct
    {
        public uint version;
        public int pid;
    }

    /// <summary>One 32-capability word; version 3 passes an array of two (capabilities 0-31, 32-63).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct __user_cap_data_struct
    {
        public uint effective;
        public uint permitted;
        public uint inheritable;
    }

    /// <summary>capget(2): <paramref name="data"/> points to <see cref="_LINUX_CAPABILITY_U32S_3"/> words.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int capget(__user_cap_header_struct* header, __user_cap_data_struct* data);

    /// <summary>capset(2): changes the calling thread's sets only.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int capset(__user_cap_header_struct* header, __user_cap_data_struct* data);
}
