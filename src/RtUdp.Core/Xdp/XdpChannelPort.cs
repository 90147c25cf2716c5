using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Control;
using RtUdp.Core.Engine;
using RtUdp.Core.Net;

namespace RtUdp.Core.Xdp;

/// <summary>
/// What an xdp channel owns besides its UDP socket (which still holds the port, so that nothing else binds it and
/// the kernel answers no ICMP port unreachable for it): the next hop its frames go to, the AF_XDP socket on its
/// queue with a UMEM of its own, the frame template, and, for a receiving channel, the steering program that sends
/// the channel's port on that queue to the socket. Opened on the conductor thread, in the engine's network namespace;
/// a failure is an <see cref="EngineCommandException"/> naming the field to change.
/// </summary>
public sealed class XdpChannelPort : IDisposable
{
    /// <summary>UMEM frame: one page, so any packet of up to <see cref="ChannelConfig.XdpMaxPayload"/> fits one frame with its TX metadata.</summary>
    public const int FrameSize = 4096;

    /// <summary>Frames per direction (and ring entries): 8 MiB of UMEM each, pinned by the kernel.</summary>
    public const int FramesPerDirection = 2048;

    /// <summary>TX metadata room in front of each frame's packet: sizeof(xsk_tx_metadata) since Linux 6.15.</summary>
    public const int TxMetadataLength = 24;

    private XdpSteeringProgram? _program;
    private ushort _steeredPort;

    private XdpChannelPort(NextHop nextHop, XskSocket socket, UdpFrameTemplate template, int queue)
    {
        NextHop = nextHop;
        Socket = socket;
        Template = template;
        Queue = queue;
    }

    public NextHop NextHop { get; }

    public XskSocket Socket { get; }

    /// <summary>Headers of the channel's frames; the send worker's alone (its IPv4 identification counts per frame).</summary>
    public UdpFrameTemplate Template { get; }

    public int Queue { get; }

    /// <summary>The MTU of the interface the frames leave by: a packet whose IP datagram exceeds it is dropped with EMSGSIZE.</summary>
    public int Mtu => NextHop.Link.Mtu;

    /// <summary>How the steering program runs, or None for a send-only channel (no program).</summary>
    public XdpAttachMode Attach => _program?.ModeInEffect ?? XdpAttachMode.None;

    /// <param name="bound">The UDP socket's local endpoint: the frames' source port, and the port steered to the socket.</param>
    public static XdpChannelPort Open(ChannelConfig config, IPEndPoint bound, ChannelModePlan plan)
    {
        IPEndPoint remote = config.Remote ?? throw new EngineCommandException(EngineStatus.InvalidArgument, "remote: an xdp channel needs a remote", "remote");
        IPAddress? source = IsWildcard(bound.Address) ? null : bound.Address;
        NextHop nextHop;
        try
        {
            nextHop = NextHopResolver.Resolve(remote.Address, source);
        }
        catch (NextHopException e)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"remote: {e.Message}", "remote");
        }
        if (!nextHop.Link.IsEthernet)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"remote: {nextHop.Link.Name} is not an Ethernet interface: the xdp data path builds Ethernet frames", "remote");
        }
        try
        {
            nextHop.Link.CheckRxQueue(config.XdpQueue);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new EngineCommandException(EngineStatus.FailedPrecondition, $"xdp.queue: {e.Message.Split(" (Parameter", 2)[0]}", "xdp.queue");
        }

        bool metadata = plan.XdpTxMetadata != XdpTxMetadataBits.None;
        var options = new XskOptions
        {
            FrameSize = FrameSize,
            TxFrames = config.Sends ? FramesPerDirection : 64,
            TxRingSize = config.Sends ? FramesPerDirection : 64,
            RxFrames = config.Receives ? FramesPerDirection : 0,
            RxRingSize = config.Receives ? FramesPerDirection : 0,
            TxMetadataLength = metadata ? TxMetadataLength : 0,
            ZeroCopy = config.XdpZeroCopy switch
            {
                XdpZeroCopy.On => XdpZeroCopyPolicy.Required,
                XdpZeroCopy.Off => XdpZeroCopyPolicy.Copy,
                _ => XdpZeroCopyPolicy.Auto,
            },
        };
        XskSocket socket = OpenSocket(nextHop.Link.Ifindex, config, options);

        XdpChannelPort? port = null;
        try
        {
            var template = UdpFrameTemplate.Create(nextHop.SourceMac, nextHop.NextHopMac, new IPEndPoint(nextHop.Source, bound.Port), remote,
                plan.XdpTxMetadata.HasFlag(XdpTxMetadataBits.Checksum) ? UdpChecksumMode.Partial : UdpChecksumMode.Software);
            port = new XdpChannelPort(nextHop, socket, template, config.XdpQueue);
            if (config.Receives)
            {
                port.SteerToSocket(config, (ushort)bound.Port);
            }
            return port;
        }
        catch
        {
            if (port is not null)
            {
                port.Dispose();
            }
            else
            {
                socket.Dispose();
            }
            throw;
        }
    }

    /// <summary>How long a queue freed a moment ago may still be busy: the kernel releases a closed socket's queue in deferred work.</summary>
    private static readonly TimeSpan BusyQueueGrace = TimeSpan.FromSeconds(2);

    private static XskSocket OpenSocket(int ifindex, ChannelConfig config, XskOptions options)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            try
            {
                return new XskSocket(ifindex, (uint)config.XdpQueue, options);
            }
            catch (XskException e) when (e.Errno == Native.Errno.EBUSY && System.Diagnostics.Stopwatch.GetElapsedTime(started) < BusyQueueGrace)
            {
                Thread.Sleep(20);
            }
            catch (XskException e)
            {
                throw Refusal(e, config);
            }
        }
    }

    private void SteerToSocket(ChannelConfig config, ushort port)
    {
        try
        {
            _program = XdpSteeringShare.Acquire(NextHop.Link.Ifindex, config.XdpAttach);
            _steeredPort = port;
            _program.Steer(Queue, port, Socket.Fd);
        }
        catch (XdpException e)
        {
            bool denied = e.Errno is Native.Errno.EPERM or Native.Errno.EACCES;
            // The hint first: libxdp's log, quoted after it, can be long.
            throw new EngineCommandException(denied ? EngineStatus.PermissionDenied : EngineStatus.FailedPrecondition,
                $"xdp.attach_mode: the steering program could not be attached to {NextHop.Link.Name}"
                + (denied ? " (loading and attaching it needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, and write access to the bpffs: CAP_DAC_OVERRIDE for a non-root engine and systemd's /sys/fs/bpf; under systemd install the unit's xdp drop-in, docs/xdp.md, Privileges)" : "")
                + $": {e.Message}",
                "xdp.attach_mode");
        }
    }

    private static EngineCommandException Refusal(XskException e, ChannelConfig config) => e.Errno switch
    {
        Native.Errno.EPERM or Native.Errno.EACCES => new EngineCommandException(EngineStatus.PermissionDenied, $"data_path: {e.Message}", "data_path"),
        Native.Errno.EBUSY => new EngineCommandException(EngineStatus.FailedPrecondition, $"xdp.queue: queue {config.XdpQueue} is taken: {e.Message}", "xdp.queue"),
        _ when e.Call.Contains("ZEROCOPY", StringComparison.Ordinal) || config.XdpZeroCopy == XdpZeroCopy.On && e.Call == "bind"
            => new EngineCommandException(EngineStatus.FailedPrecondition, $"xdp.zero_copy: {e.Message}", "xdp.zero_copy"),
        _ => new EngineCommandException(EngineStatus.FailedPrecondition, $"data_path: {e.Message}", "data_path"),
    };

    private static bool IsWildcard(IPAddress address) =>
        address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.AddressFamily == AddressFamily.Unspecified;

    public void Dispose()
    {
        // The port and the program first: with the socket gone its slot would be empty and pass traffic anyway, but a
        // program left behind would be one more for every packet of the interface to run.
        try
        {
            if (_program is { } program)
            {
                try
                {
                    program.Unsteer(Queue, _steeredPort);
                }
                finally
                {
                    XdpSteeringShare.Release(program);
                }
            }
        }
        finally
        {
            _program = null;
            Socket.Dispose();
        }
    }
}
