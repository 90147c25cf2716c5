using System.Net;
using System.Threading.Channels;
using RtUdp.Core.Capture;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;
using RtUdp.Daemon.Api;
using RtUdp.V1;
using CoreReceived = RtUdp.Core.EngineLink.ReceivedPacket;

namespace RtUdp.Daemon.Capture;

/// <summary>
/// One capture: packets offered by the daemon's drain path (<see cref="Offer"/>, a copy, never blocking
/// the drainer) go through a bounded queue to a writer thread that appends them to the pcapng file.
/// When the queue is full the packet is left out of the file and counted (packets_dropped). In
/// EXCLUSIVE mode a drain thread of its own is the channel's RX consumer.
/// </summary>
internal sealed partial class PacketCapture : IDisposable
{
    private const int WatchIntervalMs = 200;

    private readonly Channel<Item> _queue;
    private readonly ChannelEntry _channel;
    private readonly IPEndPoint _local;
    private readonly Stream _file;
    private readonly ILogger _logger;
    private readonly Thread _writer;
    private readonly Thread? _drainer;
    private readonly CancellationTokenSource _stopDrain = new();
    private long _realtimeOffsetNs = ClockSampler.Sample(Libc.CLOCK_REALTIME, 2).OffsetNs;
    private long _offered;
    private long _written;
    private long _dropped;
    private long _bytes;
    private volatile CaptureState _state = CaptureState.Running;
    private volatile string _error = "";
    private int _stopping;

    private readonly record struct Item(long UnixNs, IPEndPoint Source, byte[] Payload);

    public PacketCapture(string name, ChannelEntry channel, IPEndPoint local, CaptureMode mode, string fileName, string path, Stream file, int queueCapacity, long maxPackets, ILogger logger)
    {
        Name = name;
        _channel = channel;
        _local = local;
        Mode = mode;
        FileName = fileName;
        Path = path;
        MaxPackets = maxPackets;
        _file = file;
        _logger = logger;
        _queue = System.Threading.Channels.Channel.CreateBounded<Item>(new BoundedChannelOptions(queueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: false when full, counted as dropped
        });
        _writer = new Thread(Write) { IsBackground = true, Name = "rtudp-capture" };
        if (mode == CaptureMode.Exclusive)
        {
            _drainer = new Thread(Drain) { IsBackground = true, Name = "rtudp-capture-drain" };
        }
    }

    public string Name { get; }

    public ChannelEntry Channel => _channel;

    public CaptureMode Mode { get; }

    public string FileName { get; }

    public string Path { get; }

    public long MaxPackets { get; }

    public bool Running => _state == CaptureState.Running;

    public void Start()
    {
        Log.Started(_logger, Name, Path, Mode == CaptureMode.Exclusive ? "exclusive" : "tee");
        _writer.Start();
        _drainer?.Start();
    }

    /// <summary>A packet the daemon drained (payload in <paramref name="buffer"/>): copied into the queue, or counted as dropped.</summary>
    public void Offer(in CoreReceived packet, ReadOnlySpan<byte> buffer)
    {
        if (_state != CaptureState.Running)
        {
            return;
        }
        if (MaxPackets > 0 && Interlocked.Increment(ref _offered) > MaxPackets)
        {
            return;
        }
        long unixNs = packet.KernelRealtimeNs != 0 ? packet.KernelRealtimeNs : packet.BestMonotonicNs + Volatile.Read(ref _realtimeOffsetNs);
        var item = new Item(unixNs, packet.Source ?? new IPEndPoint(IPAddress.Any, 0), buffer[..packet.Length].ToArray());
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Stops taking packets, writes what is queued, closes the file.</summary>
    public void Stop(string? error = null)
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            _writer.Join(TimeSpan.FromSeconds(10));
            return;
        }
        _stopDrain.Cancel();
        if (Thread.CurrentThread != _drainer)
        {
            _drainer?.Join(TimeSpan.FromSeconds(5));
        }
        _queue.Writer.TryComplete();
        if (Thread.CurrentThread != _writer)
        {
            _writer.Join(TimeSpan.FromSeconds(10));
        }
        if (error is not null)
        {
            _error = error;
            _state = CaptureState.Failed;
        }
        else if (_state == CaptureState.Running)
        {
            _state = CaptureState.Stopped;
        }
        Log.Stopped(_logger, Name, _written, _dropped, _error);
    }

    public void Dispose()
    {
        Stop();
        _stopDrain.Dispose();
    }

    public V1.Capture ToProto() => new()
    {
        Name = Name,
        Mode = Mode,
        State = _state,
        FileName = FileName,
        Path = Path,
        PacketsWritten = Interlocked.Read(ref _written),
        PacketsDropped = Interlocked.Read(ref _dropped),
        BytesWritten = Interlocked.Read(ref _bytes),
        MaxPackets = MaxPackets,
        Error = _error,
    };

    private void Write()
    {
        try
        {
            using var writer = new PcapNgWriter(_file, _channel.Name, "rtudpd");
            Interlocked.Exchange(ref _bytes, writer.BytesWritten);
            ChannelReader<Item> reader = _queue.Reader;
            bool deleting = false;
            while (true)
            {
                Task<bool> more = reader.WaitToReadAsync().AsTask();
                while (!more.Wait(WatchIntervalMs))
                {
                    // Idle: a TEE capture has no drain thread to notice that its channel was deleted.
                    if (_channel.Closing && !deleting)
                    {
                        deleting = true;
                        _ = Task.Run(() => Stop($"{_channel.Name} was deleted"));
                    }
                }
                if (!more.Result)
                {
                    break;
                }
                while (reader.TryRead(out Item item))
                {
                    writer.WriteUdp(item.UnixNs, item.Source, _local, item.Payload);
                    Interlocked.Increment(ref _written);
                    Interlocked.Exchange(ref _bytes, writer.BytesWritten);
                    if (MaxPackets > 0 && writer.PacketsWritten >= MaxPackets)
                    {
                        writer.Flush();
                        _ = Task.Run(() => Stop());
                        break;
                    }
                }
                // Nothing queued: what is written is readable now (tshark may open the file while it runs).
                writer.Flush();
                Volatile.Write(ref _realtimeOffsetNs, ClockSampler.Sample(Libc.CLOCK_REALTIME, 2).OffsetNs);
            }
        }
#pragma warning disable CA1031 // a failing disk ends this capture, not the daemon
        catch (Exception e)
#pragma warning restore CA1031
        {
            _error = $"writing {Path} failed: {e.Message}";
            _state = CaptureState.Failed;
            _queue.Writer.TryComplete();
            Log.Failed(_logger, Name, _error);
        }
    }

    private void Drain()
    {
        byte[] buffer = new byte[_channel.Config.MaxPayload];
        CancellationToken stop = _stopDrain.Token;
        while (!stop.IsCancellationRequested && _state == CaptureState.Running)
        {
            using ChannelEntry.Lease? lease = _channel.Enter();
            if (lease is null)
            {
                if (_channel.Closing)
                {
                    _ = Task.Run(() => Stop($"{_channel.Name} was deleted"));
                    return;
                }
                stop.WaitHandle.WaitOne(50); // detached: the engine is restarting
                continue;
            }
            if (lease.Handle.Receive(buffer, 50_000_000) is { } packet)
            {
                Offer(packet, buffer);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Capture {Capture} started into {Path} ({Mode})")]
        public static partial void Started(ILogger logger, string capture, string path, string mode);

        [LoggerMessage(EventId = 711, Level = LogLevel.Information, Message = "Capture {Capture} ended: {Written} packets written, {Dropped} dropped; {Error}")]
        public static partial void Stopped(ILogger logger, string capture, long written, long dropped, string error);

        [LoggerMessage(EventId = 712, Level = LogLevel.Error, Message = "Capture {Capture} failed: {Error}")]
        public static partial void Failed(ILogger logger, string capture, string error);
    }
}
