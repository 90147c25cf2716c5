using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// The bpf filesystem libxdp pins its dispatchers in (DIR/xdp/dispatch-IFINDEX-DISPATCHERID/prog0-prog, ...).
/// Without one, libxdp 1.3 silently falls back to attaching a single program without a dispatcher, which
/// excludes every other XDP user and a second channel on the interface; so the engine makes sure there is one
/// before the first libxdp call. libxdp reads <c>LIBXDP_BPFFS</c> once per process, so this runs once.
/// <para>The same bpffs must be seen by everyone using the interface's dispatcher (other libxdp users,
/// the daemon's clean-up): the pins list the dispatcher's programs. Hence the order (docs/xdp.md):
/// <list type="number">
/// <item>LIBXDP_BPFFS, when set (the operator's choice), must be a bpffs;</item>
/// <item>/sys/fs/bpf when it is one (systemd mounts it at boot: the normal case);</item>
/// <item>/proc/1/root/sys/fs/bpf when it is one: this process runs in a private mount namespace that hides the
/// host's (<c>ip netns exec</c> remounts /sys); libxdp is pointed at the host's through LIBXDP_BPFFS;</item>
/// <item>else mount one at /sys/fs/bpf (CAP_SYS_ADMIN), as systemd would. In a private mount namespace that
/// mount is seen by this process only: the dispatcher still works, other processes cannot list its programs.</item>
/// </list></para>
/// </summary>
public static unsafe class XdpBpffs
{
    public const string DefaultPath = "/sys/fs/bpf";

    /// <summary>The host's, seen through PID 1's root from a private mount namespace.</summary>
    public const string HostPath = "/proc/1/root/sys/fs/bpf";

    private static string? _path;

    /// <summary>The bpffs libxdp uses in this process, once <see cref="Ensure"/> ran; else null.</summary>
    public static string? Path => _path;

    /// <summary>Finds (or mounts) the bpffs and points libxdp at it; idempotent. Throws <see cref="XdpException"/> naming what is missing.</summary>
    public static string Ensure()
    {
        lock (XdpLibraryLog.Gate)
        {
            return _path ??= Resolve(GetEnv(Libxdp.XDP_BPFFS_ENVVAR));
        }
    }

    /// <summary>Whether <paramref name="path"/> is the root of a mounted bpf filesystem.</summary>
    public static bool IsBpffs(string path)
    {
        Libc.StatfsBuffer st;
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* pp = p)
        {
            return Libc.statfs(pp, &st) == 0 && st.f_type == Libc.BPF_FS_MAGIC;
        }
    }

    /// <summary>The decision of <see cref="Ensure"/>, given LIBXDP_BPFFS's value (<paramref name="configured"/>); mounts or sets the variable when it gets that far.</summary>
    internal static string Resolve(string? configured)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            if (!IsBpffs(configured))
            {
                throw new XdpException(
                    $"{Libxdp.XDP_BPFFS_ENVVAR}={configured} is not a mounted bpf filesystem: libxdp's dispatcher needs one " +
                    $"(mount -t bpf bpf {configured}, or unset {Libxdp.XDP_BPFFS_ENVVAR} to use {DefaultPath})");
            }
            return configured;
        }
        if (IsBpffs(DefaultPath))
        {
            return DefaultPath;
        }
        if (IsBpffs(HostPath))
        {
            SetEnv(Libxdp.XDP_BPFFS_ENVVAR, HostPath);
            return HostPath;
        }
        Mount(DefaultPath);
        return DefaultPath;
    }

    private static void Mount(string target)
    {
        fixed (byte* source = "bpf\0"u8, type = "bpf\0"u8, data = "mode=0700\0"u8)
        {
            byte[] t = Encoding.UTF8.GetBytes(target + "\0");
            fixed (byte* pt = t)
            {
                if (Libc.mount(source, pt, type, 0, data) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new XdpException(
                        $"no bpf filesystem at {target} and mount -t bpf bpf {target} failed: {Errno.Describe(errno)}. " +
                        $"libxdp's dispatcher (several XDP programs on one interface) needs one: mount it (systemd does at boot; " +
                        $"needs CAP_SYS_ADMIN), or set {Libxdp.XDP_BPFFS_ENVVAR} to a mounted one");
                }
            }
        }
    }

    private static string? GetEnv(string name)
    {
        byte[] n = Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* pn = n)
        {
            byte* value = Libc.getenv(pn);
            return value == null ? null : Marshal.PtrToStringUTF8((nint)value);
        }
    }

    private static void SetEnv(string name, string value)
    {
        byte[] n = Encoding.UTF8.GetBytes(name + "\0");
        byte[] v = Encoding.UTF8.GetBytes(value + "\0");
        fixed (byte* pn = n, pv = v)
        {
            if (Libc.setenv(pn, pv, 1) != 0)
            {
                Errno.ThrowFor(Marshal.GetLastPInvokeError(), "setenv " + name);
            }
        }
    }
}
