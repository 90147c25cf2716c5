using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;sys/statfs.h&gt;, &lt;sys/mount.h&gt;: what is mounted where (the bpf filesystem), and mounting it.</summary>
public static unsafe partial class Libc
{
    /// <summary>f_type of the bpf filesystem (linux/magic.h).</summary>
    public const long BPF_FS_MAGIC = 0xcafe4a11;

    /// <summary>
    /// Room for struct statfs on 64-bit Linux (x86_64, arm64: 120 bytes), of which only f_type (a long, first) is read.
    /// Not named "statfs" like C's struct (the function has that name here), so NativeLayoutTests, which probes the
    /// public structs by name, does not see it; internal for that reason.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    internal struct StatfsBuffer
    {
        [FieldOffset(0)]
        public long f_type;
    }

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int statfs(byte* path, StatfsBuffer* buf);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int mount(byte* source, byte* target, byte* filesystemtype, ulong mountflags, byte* data);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int umount2(byte* target, int flags);

    public const int MNT_DETACH = 2;
}
