using System.Collections.Concurrent;
using RtUdp.Daemon.Api;
using CoreReceived = RtUdp.Core.EngineLink.ReceivedPacket;

namespace RtUdp.Daemon.Capture;

/// <summary>
/// The daemon's captures by name, and the one running capture of each channel, which the daemon's
/// drain path (PacketService Receive/ReceiveStream) tees every drained packet to. Finished captures stay
/// listed until newer ones push them out.
/// </summary>
public sealed class CaptureRegistry : IDisposable
{
    private const int MaxFinished = 256;

    private readonly ConcurrentDictionary<string, PacketCapture> _captures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ChannelEntry, PacketCapture> _running = new();
    private readonly Lock _starting = new();
    private int _serial;

    public string NextId() => $"cap-{Interlocked.Increment(ref _serial)}";

    /// <summary>Hands a packet the daemon drained from <paramref name="channel"/> to its running capture, if any (a copy; never blocks).</summary>
    public void Tee(ChannelEntry channel, in CoreReceived packet, ReadOnlySpan<byte> buffer)
    {
        if (!_running.IsEmpty && _running.TryGetValue(channel, out PacketCapture? capture))
        {
            if (capture.Running)
            {
                capture.Offer(packet, buffer);
            }
            else
            {
                _running.TryRemove(new KeyValuePair<ChannelEntry, PacketCapture>(channel, capture));
            }
        }
    }

    /// <summary>Whether an EXCLUSIVE capture is the channel's consumer now (clients' receives are refused).</summary>
    public bool IsExclusive(ChannelEntry channel) =>
        !_running.IsEmpty && _running.TryGetValue(channel, out PacketCapture? capture) && capture.Running && capture.Mode == V1.CaptureMode.Exclusive;

    /// <summary>Registers and starts <paramref name="create"/>()'s capture unless the channel already has a running one or the name is taken.</summary>
    internal PacketCapture? TryStart(ChannelEntry channel, string name, Func<PacketCapture> create, out string? conflict)
    {
        lock (_starting)
        {
            if (_running.TryGetValue(channel, out PacketCapture? running) && running.Running)
            {
                conflict = running.Name;
                return null;
            }
            if (_captures.ContainsKey(name))
            {
                conflict = name;
                return null;
            }
            PacketCapture capture = create();
            _captures[name] = capture;
            _running[channel] = capture;
            conflict = null;
            Prune();
            capture.Start();
            return capture;
        }
    }

    internal bool TryGet(string name, out PacketCapture capture) => _captures.TryGetValue(name, out capture!);

    internal IReadOnlyList<PacketCapture> List(string? channelName) =>
        [.. _captures.Values.Where(c => channelName is null || c.Channel.Name == channelName).OrderBy(c => c.Name, StringComparer.Ordinal)];

    private void Prune()
    {
        foreach (PacketCapture old in _captures.Values.Where(c => !c.Running).OrderBy(c => c.Name, StringComparer.Ordinal).SkipLast(MaxFinished).ToList())
        {
            _captures.TryRemove(old.Name, out _);
        }
    }

    public void Dispose()
    {
        foreach (PacketCapture capture in _captures.Values)
        {
            capture.Dispose();
        }
    }
}
