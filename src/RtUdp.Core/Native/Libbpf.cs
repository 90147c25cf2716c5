using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>
/// libbpf (Debian's libbpf1, libbpf.so.1): the few calls the xdp steering program needs beside libxdp, names
/// exactly as in &lt;bpf/libbpf.h&gt; and &lt;bpf/bpf.h&gt;. libbpf 1.x returns a negative errno on failure.
/// </summary>
public static unsafe partial class Libbpf
{
    public const string Library = "libbpf.so.1";

    /// <summary>bpf_map_update_elem flags.</summary>
    public const ulong BPF_ANY = 0;
    public const ulong BPF_NOEXIST = 1;
    public const ulong BPF_EXIST = 2;

    public enum libbpf_print_level
    {
        LIBBPF_WARN = 0,
        LIBBPF_INFO = 1,
        LIBBPF_DEBUG = 2,
    }

    /// <summary>Installs libbpf's log callback (the verifier's log comes through it); returns the previous one.</summary>
    [LibraryImport(Library, SetLastError = true)]
    public static partial nint libbpf_set_print(delegate* unmanaged<libbpf_print_level, byte*, nint, int> fn);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint bpf_object__find_program_by_name(nint obj, byte* name);

    /// <returns>The program's fd (owned by the object), or a negative errno.</returns>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int bpf_program__fd(nint prog);

    /// <returns>The map's fd (owned by the object), or a negative errno.</returns>
    [LibraryImport(Library, SetLastError = true)]
    public static partial int bpf_object__find_map_fd_by_name(nint obj, byte* name);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int bpf_map_update_elem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int bpf_map_delete_elem(int fd, void* key);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int bpf_map_lookup_elem(int fd, void* key, void* value);
}
