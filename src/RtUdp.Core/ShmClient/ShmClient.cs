using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;
using RtUdp.Core.Net;

namespace RtUdp.Core.ShmClient;

/// <summary>
/// A same-host client of rtudpd over shared memory (docs/shm-clients.md): each <see cref="Attach"/> asks the
/// broker for a region of its own over a connection of its own (the connection is the attachment's lifetime:
/// when it closes, the daemon detaches it). librtudp's <c>rtudp_connect</c> / <c>rtudp_attach</c> are these.
/// AOT-safe: no reflection.
/// </summary>
public sealed class ShmClient : IDisposable
{
    /// <summary>How long an attach may take the daemon (it creates the region and waits for the engine).</summary>
    internal const int ResponseTimeoutMs = 30_000;

    private readonly Lock _gate = new();
    private readonly List<ShmAttachment> _attachments = [];
    private int _spare;
    private bool _disposed;

    private ShmClient(string socketPath, int connection)
    {
        SocketPath = socketPath;
        _spare = connection;
    }

    /// <summary>The broker socket this client talks to.</summary>
    public string SocketPath { get; }

    /// <summary>
    /// Connects to the broker at <paramref name="socketPath"/> (null or empty: <see cref="ShmSocketPath.Default"/>,
    /// which honours $RTUDP_SHM_SOCKET). The connection is kept for the first attach.
    /// </summary>
    /// <exception cref="ShmException"><see cref="ShmStatus.Connect"/>, <see cref="ShmStatus.Permission"/> or <see cref="ShmStatus.System"/>, naming the path.</exception>
    public static ShmClient Connect(string? socketPath)
    {
        string path = string.IsNullOrEmpty(socketPath) ? ShmSocketPath.Default() : socketPath;
        return new ShmClient(path, Open(path));
    }

    /// <summary>
    /// Attaches to <paramref name="channel"/> ("name" or "channels/name"). <paramref name="flags"/>:
    /// <see cref="ShmAbi.AttachSend"/> | <see cref="ShmAbi.AttachReceive"/>, 0 for the channel's direction. Ring
    /// sizes: 0 for the default (1 MiB), else a power of two from 4096.
    /// </summary>
    /// <exception cref="ShmException">The daemon refused (its status and message), or the connection failed.</exception>
    public ShmAttachment Attach(string channel, uint flags, uint txRingBytes = 0, uint rxRingBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel.Length == 0 || !ShmRequest.FitsChannelName(channel))
        {
            throw new ShmException(ShmStatus.Invalid, $"channel: '{channel}' must be 1 to {ShmRequest.ChannelNameBytes - 1} bytes");
        }
        if ((flags & ~(ShmAbi.AttachSend | ShmAbi.AttachReceive)) != 0)
        {
            throw new ShmException(ShmStatus.Invalid, $"flags: 0x{flags:x} has bits other than RTUDP_ATTACH_SEND (1) and RTUDP_ATTACH_RECEIVE (2)");
        }
        int connection;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            connection = _spare;
            _spare = -1;
        }
        if (connection < 0)
        {
            connection = Open(SocketPath);
        }
        ShmAttachment? attachment;
        ShmException? refusal;
        try
        {
            (attachment, refusal) = Request(connection, ShmRequest.Attach(channel, flags, txRingBytes, rxRingBytes), channel);
        }
        catch
        {
            UnixSeqPacket.Close(connection);
            throw;
        }
        lock (_gate)
        {
            if (attachment is not null)
            {
                _attachments.Add(attachment);
                return attachment;
            }
            // A refused attach leaves the connection usable: kept for the next one.
            if (_spare < 0 && !_disposed)
            {
                _spare = connection;
            }
            else
            {
                UnixSeqPacket.Close(connection);
            }
        }
        throw refusal!;
    }

    /// <summary>Detaches every attachment still attached (draining, as <see cref="ShmAttachment.Detach"/>) and closes the connections.</summary>
    public void Dispose()
    {
        ShmAttachment[] attachments;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            attachments = [.. _attachments];
            _attachments.Clear();
            UnixSeqPacket.Close(_spare);
            _spare = -1;
        }
        foreach (ShmAttachment attachment in attachments)
        {
            attachment.Dispose();
        }
    }

    internal void Forget(ShmAttachment attachment)
    {
        lock (_gate)
        {
            _attachments.Remove(attachment);
        }
    }

    /// <summary>Sends the attach request and maps the region; a refusal (the connection stays usable) is returned, anything else thrown.</summary>
    private (ShmAttachment? Attachment, ShmException? Refusal) Request(int connection, ShmRequest request, string channel)
    {
        ShmResponse response = Exchange(connection, request, SocketPath, out int memfd);
        if (response.StatusCode != ShmStatus.Ok)
        {
            UnixSeqPacket.Close(memfd);
            string? field = response.GetField();
            return (null, new ShmException(response.StatusCode, field is null ? response.GetMessage() : $"{field}: {response.GetMessage()}"));
        }
        if (memfd < 0)
        {
            throw new ShmException(ShmStatus.System, $"rtudpd ({SocketPath}) answered the attach to '{channel}' without the region's descriptor");
        }
        ClientRegion region;
        try
        {
            region = ClientRegion.Map(memfd);
        }
        catch (ClientRegionException e)
        {
            throw new ShmException(e.Status == ShmStatus.Invalid ? ShmStatus.Version : e.Status, $"the region rtudpd gave for '{channel}': {e.Message}", e);
        }
        catch (NativeCallException e)
        {
            throw new ShmException(ShmStatus.System, $"mapping the region for '{channel}': {e.Message}", e);
        }
        finally
        {
            // The mapping keeps the memory; the descriptor is not needed any more.
            UnixSeqPacket.Close(memfd);
        }
        return (new ShmAttachment(this, connection, region, SocketPath), null);
    }

    /// <summary>One request, one response (and the descriptor that came with it, or -1).</summary>
    internal static ShmResponse Exchange(int connection, in ShmRequest request, string path, out int memfd)
    {
        memfd = -1;
        Span<byte> message = stackalloc byte[ShmRequest.Size];
        request.Encode(message);
        Span<byte> answer = stackalloc byte[ShmResponse.Size + 8];
        int length;
        try
        {
            UnixSeqPacket.Send(connection, message, -1, path);
            if (!UnixSeqPacket.WaitReadable(connection, ResponseTimeoutMs, path))
            {
                throw new ShmException(ShmStatus.System, $"rtudpd ({path}) did not answer within {ResponseTimeoutMs / 1000} s");
            }
            length = UnixSeqPacket.Receive(connection, answer, out memfd, path);
        }
        catch (NativeCallException e)
        {
            throw new ShmException(ShmStatus.System, $"talking to rtudpd ({path}): {e.Message}", e);
        }
        if (length == 0)
        {
            throw new ShmException(ShmStatus.Connect, $"rtudpd ({path}) closed the connection without an answer (stopped, or refused the connection)");
        }
        if (length != ShmResponse.Size || !ShmResponse.TryDecode(answer[..length], out ShmResponse response) || response.Magic != ShmAbi.ResponseMagic)
        {
            UnixSeqPacket.Close(memfd);
            memfd = -1;
            throw new ShmException(ShmStatus.Version, $"rtudpd ({path}) answered with {(length < 0 ? "an oversized" : length + " bytes of")} message that is not an ABI {ShmAbi.Version} response: daemon and librtudp differ in version");
        }
        return response;
    }

    private static int Open(string path)
    {
        try
        {
            return UnixSeqPacket.Connect(path);
        }
        catch (ArgumentException e)
        {
            throw new ShmException(ShmStatus.Invalid, $"socket path: {e.Message}", e);
        }
        catch (NativeCallException e) when (e.Errno is Errno.ENOENT or Errno.ECONNREFUSED)
        {
            throw new ShmException(ShmStatus.Connect, $"cannot connect to {path} ({Errno.Name(e.Errno)}): is rtudpd running, with its shared-memory socket on (Listen:ShmSocket)? $RTUDP_SHM_SOCKET names another socket", e);
        }
        catch (NativeCallException e) when (e.Errno is Errno.EACCES or Errno.EPERM)
        {
            throw new ShmException(ShmStatus.Permission, $"not allowed to connect to {path} ({Errno.Name(e.Errno)}): its group is {SocketGroup(path)}; rtudpd's clients must be in it", e);
        }
        catch (NativeCallException e)
        {
            throw new ShmException(ShmStatus.System, $"cannot connect to {path}: {e.Message}", e);
        }
    }

    /// <summary>The socket file's group, by name when /etc/group has it ("rtudp (gid 998)").</summary>
    private static unsafe string SocketGroup(string path)
    {
        Tmds.Linux.stat st;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            if (Tmds.Linux.LibC.stat(p, &st) != 0)
            {
                return "unknown (stat failed)";
            }
        }
        uint gid = st.st_gid;
        return GroupName(gid) is { } name ? $"{name} (gid {gid})" : $"gid {gid}";
    }

    internal static string? GroupName(uint gid)
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/group"))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 3 && fields[2] == gid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    return fields[0];
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
