using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>
/// libxdp (Debian's libxdp1, libxdp.so.1, xdp-tools 1.3.x): loading XDP programs through its multi-program
/// dispatcher so that several XDP users share an interface. Names and enums exactly as in &lt;xdp/libxdp.h&gt;.
/// <para>
/// Errors: int-returning calls return a negative errno (and set errno). Pointer-returning calls return either
/// NULL with errno set or an ERR_PTR (a pointer in the last page, -4095..-1) depending on libbpf's strict mode;
/// <see cref="Error(void*)"/> handles both without relying on the live errno (the bindings that return pointers
/// set SetLastError so the stub snapshots it).
/// </para>
/// The opaque handles (<c>struct xdp_program*</c>, <c>struct xdp_multiprog*</c>, <c>struct bpf_object*</c>) are
/// kept as <see cref="nint"/>.
/// </summary>
[SuppressMessage("Naming", "CA1708:Identifiers should differ by more than case", Justification = "C names kept verbatim.")]
public static unsafe partial class Libxdp
{
    public const string Library = "libxdp.so.1";

    /// <summary>Environment variable (read once per process, with secure_getenv) naming the bpffs mount libxdp pins its dispatchers in; default /sys/fs/bpf.</summary>
    public const string XDP_BPFFS_ENVVAR = "LIBXDP_BPFFS";

    /// <summary>"1": libxdp mounts a bpffs at <see cref="XDP_BPFFS_ENVVAR"/> (or /sys/fs/bpf) itself when none is there.</summary>
    public const string XDP_BPFFS_MOUNT_ENVVAR = "LIBXDP_BPFFS_AUTOMOUNT";

    public const string XDP_OBJECT_ENVVAR = "LIBXDP_OBJECT_PATH";

#pragma warning disable CA1008 // C's enum, with C's zero.
    public enum xdp_attach_mode
#pragma warning restore CA1008
    {
        XDP_MODE_UNSPEC = 0,
        XDP_MODE_NATIVE = 1,
        XDP_MODE_SKB = 2,
        XDP_MODE_HW = 3,
    }

    public enum libxdp_print_level
    {
        LIBXDP_WARN = 0,
        LIBXDP_INFO = 1,
        LIBXDP_DEBUG = 2,
    }

    /// <summary>Installs the log callback (int fn(enum libxdp_print_level, const char *fmt, va_list)); returns the previous one.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint libxdp_set_print(delegate* unmanaged<libxdp_print_level, byte*, nint, int> fn);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint libxdp_get_error(void* ptr);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int libxdp_strerror(int err, byte* buf, nuint size);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_program__open_file(byte* filename, byte* section_name, void* opts);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_program__from_bpf_obj(nint obj, byte* section_name);

    [LibraryImport(Library, SetLastError = true)]
    public static partial void xdp_program__close(nint xdp_prog);

    [LibraryImport(Library, SetLastError = true)]
    public static partial byte* xdp_program__name(nint xdp_prog);

    [LibraryImport(Library, SetLastError = true)]
    public static partial uint xdp_program__id(nint xdp_prog);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_program__bpf_obj(nint xdp_prog);

    /// <returns>The loaded program's fd (owned by <paramref name="xdp_prog"/>), or a negative errno.</returns>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int xdp_program__fd(nint xdp_prog);

    [LibraryImport(Library, SetLastError = true)]
    public static partial uint xdp_program__run_prio(nint xdp_prog);

    [LibraryImport(Library, SetLastError = true)]
    public static partial xdp_attach_mode xdp_program__is_attached(nint xdp_prog, int ifindex);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int xdp_program__attach(nint xdp_prog, int ifindex, xdp_attach_mode mode, uint flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int xdp_program__detach(nint xdp_prog, int ifindex, xdp_attach_mode mode, uint flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_multiprog__get_from_ifindex(int ifindex);

    /// <summary>The program after <paramref name="prog"/> (0: the first) in the dispatcher; 0 after the last. Owned by <paramref name="mp"/>.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_multiprog__next_prog(nint prog, nint mp);

    [LibraryImport(Library, SetLastError = true)]
    public static partial void xdp_multiprog__close(nint mp);

    [LibraryImport(Library, SetLastError = true)]
    public static partial xdp_attach_mode xdp_multiprog__attach_mode(nint mp);

    [LibraryImport(Library, SetLastError = true)]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool xdp_multiprog__is_legacy(nint mp);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int xdp_multiprog__program_count(nint mp);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint xdp_multiprog__main_prog(nint mp);

    /// <summary>
    /// The negative errno a pointer-returning call failed with, or 0 when <paramref name="ptr"/> is a valid
    /// pointer: ERR_PTR values carry it; NULL means errno, read from the stub's snapshot.
    /// </summary>
    public static int Error(void* ptr)
    {
        nint value = (nint)ptr;
        if (value == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno > 0 ? -errno : -Errno.ENOENT;
        }
        return value is >= -4095 and < 0 ? (int)value : 0;
    }
}
