using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine.Clients;

/// <summary>
/// engine.sock: a SOCK_SEQPACKET unix socket (mode 0600, so only the engine's user, rtudpd's, connects) on which
/// the engine receives file descriptors and nothing else. Each message is a u64 token with one descriptor in
/// SCM_RIGHTS; the command that uses it (AttachClient) names the token. The conductor reads it only when a
/// command asks for a token, without blocking: rtudpd sends the descriptor before the command, so it is there.
/// </summary>
public sealed unsafe class DescriptorInbox : IDisposable
{
    /// <summary>Descriptors received and not yet claimed, at most (a daemon that never sends the command).</summary>
    private const int MaxUnclaimed = 128;

    private readonly string _path;
    private readonly int _listener;
    private readonly List<int> _connections = [];
    private readonly Dictionary<ulong, int> _received = [];
    private readonly Queue<ulong> _order = new();

    private DescriptorInbox(string path, int listener)
    {
        _path = path;
        _listener = listener;
    }

    public string Path => _path;

    /// <summary>Binds and listens at <paramref name="path"/> (a stale socket file from a dead engine is replaced).</summary>
    public static DescriptorInbox Listen(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] pathBytes = Encoding.UTF8.GetBytes(path);
        sockaddr_un address = default;
        if (pathBytes.Length >= sizeof(sockaddr_un) - sizeof(ushort))
        {
            throw new ArgumentException($"The socket path {path} is too long for a unix socket.", nameof(path));
        }
        address.sun_family = AF_UNIX;
        pathBytes.CopyTo(new Span<byte>(address.sun_path, pathBytes.Length));
        File.Delete(path);
        int fd = Errno.Check(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), "socket(AF_UNIX, SOCK_SEQPACKET)");
        try
        {
            Errno.Check(bind(fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)), $"bind({path})");
            // Whatever the umask: only the engine's own user (the daemon's) may hand it descriptors.
            fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0"))
            {
                Errno.Check(chmod(p, 0x180 /* 0600 */), $"chmod({path})");
            }
            Errno.Check(listen(fd, 16), $"listen({path})");
            return new DescriptorInbox(path, fd);
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    }

    /// <summary>The descriptor sent with <paramref name="token"/>, or null if none came.</summary>
    public SafeFileHandle? Take(ulong token)
    {
        if (!_received.ContainsKey(token))
        {
            Pump();
        }
        if (_received.Remove(token, out int fd))
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }
        return null;
    }

    /// <summary>Accepts waiting connections and reads every waiting message, without blocking.</summary>
    private void Pump()
    {
        while (true)
        {
            int connection = accept4(_listener, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (connection == -1)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is Errno.EAGAIN or Errno.EINTR or Errno.ECONNABORTED)
                {
                    break;
                }
                Errno.ThrowFor(errno, $"accept4({_path})");
            }
            _connections.Add(connection);
        }
        Span<byte> message = stackalloc byte[16];
        for (int i = _connections.Count - 1; i >= 0; i--)
        {
            int connection = _connections[i];
            while (true)
            {
                int length = DescriptorPassing.Receive(connection, message, out int fd, out int errno, MSG_DONTWAIT);
                if (length == -1 && errno == Errno.EAGAIN)
                {
                    break;
                }
                if (length <= 0)
                {
                    // Closed by rtudpd (or broken): nothing more comes on it.
                    _ = close(connection);
                    _connections.RemoveAt(i);
                    break;
                }
                if (length != sizeof(ulong) || fd < 0)
                {
                    if (fd >= 0)
                    {
                        _ = close(fd);
                    }
                    continue;
                }
                Keep(BinaryPrimitives.ReadUInt64LittleEndian(message), fd);
            }
        }
    }

    private void Keep(ulong token, int fd)
    {
        if (_received.Remove(token, out int previous))
        {
            _ = close(previous);
        }
        _received.Add(token, fd);
        _order.Enqueue(token);
        while (_received.Count > MaxUnclaimed && _order.TryDequeue(out ulong oldest))
        {
            if (_received.Remove(oldest, out int stale))
            {
                _ = close(stale);
            }
        }
    }

    public void Dispose()
    {
        foreach (int fd in _received.Values)
        {
            _ = close(fd);
        }
        _received.Clear();
        foreach (int connection in _connections)
        {
            _ = close(connection);
        }
        _connections.Clear();
        _ = close(_listener);
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
    }
}
