using System.Globalization;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;

namespace RtUdp.Testing;

/// <summary>
/// A channel's socket inside the engine process, duplicated into the test (pidfd_getfd, Linux 5.6; needs root or
/// ptrace rights over the engine), so that a test can change an option of the very socket the worker sends on.
/// </summary>
internal static unsafe class EngineSocket
{
    // The generic syscall numbers, the same on x86_64 and arm64.
    private const int SYS_pidfd_open = 434;
    private const int SYS_pidfd_getfd = 438;

    /// <summary>SOL_SOCKET option: send UDP over IPv4 without a checksum (the kernel then refuses UDP GSO, EINVAL).</summary>
    public const int SO_NO_CHECK = 11;

    /// <summary>A duplicate of the engine's UDP socket bound to <paramref name="localPort"/>; the caller closes it.</summary>
    public static int Borrow(int pid, int localPort)
    {
        long inode = Inode(pid, localPort);
        string target = $"socket:[{inode}]";
        foreach (string link in Directory.GetFiles($"/proc/{pid}/fd"))
        {
            if (new FileInfo(link).LinkTarget != target)
            {
                continue;
            }
            int fd = int.Parse(Path.GetFileName(link), CultureInfo.InvariantCulture);
            int pidfd = (int)Libc.syscall(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
            Assert.True(pidfd >= 0, $"pidfd_open({pid}): errno {Marshal.GetLastPInvokeError()}");
            try
            {
                int copy = (int)Libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0, 0, 0, 0);
                Assert.True(copy >= 0, $"pidfd_getfd({pid}, {fd}): errno {Marshal.GetLastPInvokeError()}");
                return copy;
            }
            finally
            {
                _ = Tmds.Linux.LibC.close(pidfd);
            }
        }
        throw new InvalidOperationException($"no descriptor of process {pid} is {target}");
    }

    public static void SetInt(int fd, int level, int option, int value) =>
        Assert.True(Tmds.Linux.LibC.setsockopt(fd, level, option, &value, sizeof(int)) == 0, $"setsockopt({level}, {option}): errno {Marshal.GetLastPInvokeError()}");

    /// <summary>The socket's inode, from the process's own view of its namespace's UDP sockets.</summary>
    private static long Inode(int pid, int localPort)
    {
        string port = ":" + localPort.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string table in new[] { "udp", "udp6" })
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/net/{table}").Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[1].EndsWith(port, StringComparison.Ordinal))
                {
                    return long.Parse(fields[9], CultureInfo.InvariantCulture);
                }
            }
        }
        throw new InvalidOperationException($"process {pid} has no UDP socket on port {localPort}");
    }
}
