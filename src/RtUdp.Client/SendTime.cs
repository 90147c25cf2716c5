using Google.Protobuf.WellKnownTypes;
using RtUdp.V1;

namespace RtUdp.Client;

/// <summary>When a packet must leave: as soon as possible, at an engine CLOCK_MONOTONIC time, at a wall-clock time, or after a delay.</summary>
public readonly record struct SendTime
{
    private enum Kind
    {
        Now,
        Monotonic,
        Realtime,
        Delay,
    }

    private readonly Kind _kind;
    private readonly long _monotonicNs;
    private readonly DateTimeOffset _realtime;
    private readonly TimeSpan _delay;

    private SendTime(Kind kind, long monotonicNs = 0, DateTimeOffset realtime = default, TimeSpan delay = default)
    {
        _kind = kind;
        _monotonicNs = monotonicNs;
        _realtime = realtime;
        _delay = delay;
    }

    public static SendTime Now => default;

    /// <summary>An absolute CLOCK_MONOTONIC time of the daemon's host, ns (see <see cref="EngineClock"/>).</summary>
    public static SendTime AtMonotonic(long monotonicNs) => new(Kind.Monotonic, monotonicNs: monotonicNs);

    /// <summary>An absolute wall-clock time (the daemon converts it with its own clock offset).</summary>
    public static SendTime AtRealtime(DateTimeOffset time) => new(Kind.Realtime, realtime: time);

    /// <summary>This long after the daemon receives the request.</summary>
    public static SendTime After(TimeSpan delay) => new(Kind.Delay, delay: delay);

    /// <summary>Sets the packet's time oneof.</summary>
    public void ApplyTo(OutgoingPacket packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        switch (_kind)
        {
            case Kind.Monotonic:
                packet.MonotonicNs = _monotonicNs;
                break;
            case Kind.Realtime:
                packet.Realtime = Timestamp.FromDateTimeOffset(_realtime);
                break;
            case Kind.Delay:
                packet.Delay = Duration.FromTimeSpan(_delay);
                break;
            default:
                packet.ClearTime();
                break;
        }
    }

    public override string ToString() => _kind switch
    {
        Kind.Monotonic => $"at monotonic {_monotonicNs} ns",
        Kind.Realtime => $"at {_realtime:O}",
        Kind.Delay => $"after {_delay.TotalMilliseconds} ms",
        _ => "now",
    };
}
