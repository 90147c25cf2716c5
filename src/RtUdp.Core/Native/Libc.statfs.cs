using System.Runtime.InteropServices;

namespace RtUdp.Core.Native;

/// <summary>&lt;sys/statfs.h&gt;, &lt;sys/mount.h&gt;: what is mounted where (the bpf filesystem), and mounting it.</summary>
public static unsafe partial class Libc
{
    /// <summary>f_type of the bpf filesystem (linux/magic.h).</summary>
    public const long BPF_FS_MAGIC = 0xcafe4a11;

    /// <summary>
    /// struct statfs on 64-bit Linux (x86_64, arm64): 120 bytes, f_type (a long) first. Only f_type is read here.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 120)]
#pragma warning disable CS8981 // C's name, kept verbatim like the rest of Libc.
    public struct statfs_t
#pragma warning restore CS8981
    {
        [FieldOffset(0)]
        public long f_type;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int statfs(byte* path, statfs_t* buf);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int mount(byte* source, byte* target, byte* filesystemtype, ulong mountflags, byte* data);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int umount2(byte* target, int flags);

    public const int MNT_DETACH = 2;
}
