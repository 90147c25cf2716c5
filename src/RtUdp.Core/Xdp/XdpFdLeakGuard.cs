using System.Globalization;
using Tmds.Linux;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Works around a descriptor leak of libxdp before 1.4.1 (Debian bookworm has 1.3.1): every
/// xdp_multiprog__get_from_ifindex, which attach, detach and is_attached call too, opens the interface's main
/// program (the dispatcher, or the single program) by id and never closes that descriptor (fixed upstream in
/// xdp-tools 48ad94b, "libxdp: Fix bpf program original file descriptor management"). Besides the leak, a
/// leaked descriptor keeps a detached program in memory and makes a leftover look held by this process.
/// <para>Used under <see cref="XdpLibraryLog.Gate"/>: lists this process's bpf-prog descriptors before a libxdp
/// call and closes the new ones after it, except those that the caller keeps (a program's own descriptor).
/// Harmless on a fixed libxdp (nothing new to close).</para>
/// </summary>
internal readonly struct XdpFdLeakGuard
{
    private readonly HashSet<int> _before;

    private XdpFdLeakGuard(HashSet<int> before) => _before = before;

    public static XdpFdLeakGuard Begin() => new(ProgramFds());

    /// <summary>Closes the bpf-prog descriptors opened since <see cref="Begin"/>, except <paramref name="keep"/>.</summary>
    public void End(params ReadOnlySpan<int> keep)
    {
        foreach (int fd in ProgramFds())
        {
            if (!_before.Contains(fd) && !keep.Contains(fd))
            {
                _ = LibC.close(fd); // Ours to close; nothing to do if it fails.
            }
        }
    }

    private static HashSet<int> ProgramFds()
    {
        var fds = new HashSet<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
            {
                continue;
            }
            try
            {
                if (new FileInfo(entry).LinkTarget == "anon_inode:bpf-prog")
                {
                    fds.Add(fd);
                }
            }
            catch (IOException)
            {
                // Closed meanwhile (the enumeration's own descriptor).
            }
        }
        return fds;
    }
}
