using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.EngineLink;

/// <summary>
/// The daemon's end of engine.sock: one SOCK_SEQPACKET connection, made on first use and again after the engine
/// closed it, over which each descriptor goes with its token (a u64) in one message.
/// </summary>
internal sealed unsafe class EngineDescriptorLink(string path) : IDisposable
{
    private int _fd = -1;

    /// <summary>Sends <paramref name="descriptor"/> with <paramref name="token"/>; reconnects once if the engine closed the connection.</summary>
    /// <exception cref="EngineCommandException">The socket is not there or refuses (Unavailable).</exception>
    public void Send(ulong token, int descriptor)
    {
        Span<byte> message = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(message, token);
        for (int attempt = 0; ; attempt++)
        {
            if (_fd < 0)
            {
                _fd = Connect();
            }
            if (DescriptorPassing.Send(_fd, message, descriptor, out int errno) == message.Length)
            {
                return;
            }
            _ = close(_fd);
            _fd = -1;
            if (attempt > 0 || errno is not (Errno.EPIPE or 104 /* ECONNRESET */ or 107 /* ENOTCONN */))
            {
                throw new EngineCommandException(EngineStatus.Unavailable, $"Sending a descriptor on {path} failed: {Errno.Describe(errno)}.");
            }
        }
    }

    private int Connect()
    {
        byte[] pathBytes = Encoding.UTF8.GetBytes(path);
        if (pathBytes.Length >= sizeof(sockaddr_un) - sizeof(ushort))
        {
            throw new EngineCommandException(EngineStatus.Unavailable, $"The socket path {path} is too long for a unix socket.");
        }
        sockaddr_un address = default;
        address.sun_family = AF_UNIX;
        pathBytes.CopyTo(new Span<byte>(address.sun_path, pathBytes.Length));
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd == -1)
        {
            throw new EngineCommandException(EngineStatus.Unavailable, $"socket(AF_UNIX, SOCK_SEQPACKET) failed: {Errno.Describe(Marshal.GetLastPInvokeError())}.");
        }
        if (connect(fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)) == -1)
        {
            int errno = Marshal.GetLastPInvokeError();
            _ = close(fd);
            throw new EngineCommandException(EngineStatus.Unavailable, $"connect({path}) failed: {Errno.Describe(errno)}: the engine takes no same-host clients.");
        }
        return fd;
    }

    public void Dispose()
    {
        if (_fd >= 0)
        {
            _ = close(_fd);
            _fd = -1;
        }
    }
}
