using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;

namespace RtUdp.Native.Exports;

/// <summary>The calls that need no connection: the ABI version, the thread's last message, the clock packets are scheduled on.</summary>
internal static unsafe class LibraryExports
{
    /// <summary>RTUDP_ABI_VERSION in rtudp.h; the library's soname carries it (librtudp.so.1).</summary>
    internal const uint AbiVersion = ShmAbi.Version;

    [UnmanagedCallersOnly(EntryPoint = "rtudp_abi_version", CallConvs = [typeof(CallConvCdecl)])]
    internal static uint AbiVersionExport() => AbiVersion;

    [UnmanagedCallersOnly(EntryPoint = "rtudp_last_error", CallConvs = [typeof(CallConvCdecl)])]
    internal static byte* LastErrorExport() => LastError.Pointer;

    /// <summary>CLOCK_MONOTONIC in ns: the clock of every time_ns (the vDSO, no system call).</summary>
    [UnmanagedCallersOnly(EntryPoint = "rtudp_monotonic_ns", CallConvs = [typeof(CallConvCdecl)])]
    internal static long MonotonicNsExport() => Libc.MonotonicNow();
}
