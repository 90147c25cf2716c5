using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Native;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// Network errors for packets already sent: each ICMP error the error queue holds is counted by kind,
/// matched to the packet whose head it quotes (a <see cref="SentPacketWindow"/>) and, while reports are
/// requested, reported as that packet's network error. Also counts the resends and drops the send calls
/// make for network errors. Allocates nothing; its counters are published once per batch.
/// </summary>
public sealed unsafe class NetworkErrors : IDisposable
{
    private const int MinWindow = 256;
    private const int MaxWindow = 4096;

    private readonly ChannelRegion _region;
    private readonly TxReportWriter _reports;
    private readonly SentPacketWindow _window;
    private readonly long* _pending;
    private bool _dirty;

    public NetworkErrors(ChannelRegion region, TxReportWriter reports)
    {
        _region = region;
        _reports = reports;
        _window = new SentPacketWindow(Math.Clamp(region.Config.Capacity, MinWindow, MaxWindow));
        _pending = (long*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)Counted.Length, sizeof(long));
    }

    /// <summary>The counters this class adds to, in the order of <see cref="_pending"/>.</summary>
    private static ReadOnlySpan<int> Counted =>
    [
        (int)ChannelCounter.ResentAfterNetworkError,
        (int)ChannelCounter.NetworkErrorsExact,
        (int)ChannelCounter.NetworkErrorsUnattributed,
        (int)ChannelCounter.NetworkRefused,
        (int)ChannelCounter.NetworkHostUnreachable,
        (int)ChannelCounter.NetworkNetUnreachable,
        (int)ChannelCounter.NetworkHostDown,
        (int)ChannelCounter.NetworkTooBig,
        (int)ChannelCounter.NetworkOther,
        (int)ChannelCounter.NetworkErrorsByOrder,
        (int)ChannelCounter.DroppedAfterResends,
        (int)ChannelCounter.DroppedTooBig,
    ];

    private enum Slot
    {
        Resent,
        Exact,
        Unattributed,
        Refused,
        HostUnreachable,
        NetUnreachable,
        HostDown,
        TooBig,
        Other,
        ByOrder,
        DroppedAfterResends,
        DroppedTooBig,
    }

    /// <summary>A packet the kernel took: remembered, so an error quoting it later finds it.</summary>
    public void Sent(long packetId, int clientTag, long dueNs, long sentNs, byte* payload, int length) =>
        _window.Add(packetId, clientTag, dueNs, sentNs, payload, length);

    /// <summary>A send call reported an earlier packet's network error; its packet goes again.</summary>
    public void Resent() => Count(Slot.Resent);

    /// <summary>A packet is dropped for a send error: after every resend, or too big for the path.</summary>
    public void Dropped(int errorNumber, bool afterResends, int pathMtu)
    {
        if (afterResends)
        {
            Count(Slot.DroppedAfterResends);
        }
        else if (errorNumber == Errno.EMSGSIZE)
        {
            Count(Slot.DroppedTooBig);
            if (pathMtu > 0)
            {
                _region.Set(ChannelCounter.PathMtu, pathMtu);
            }
        }
    }

    /// <summary>
    /// An error-queue message of ICMP or local origin. Local EMSGSIZE is this host refusing a packet too big
    /// for the path, already dropped and counted by the send: only its MTU is kept.
    /// </summary>
    /// <returns>False when the message is neither (the caller counts it as another error).</returns>
    public bool OnError(in ErrQueueMessage message, ReadOnlySpan<byte> quote, long now)
    {
        if (message.Kind == ErrQueueKind.Local)
        {
            if (message.Errno != Errno.EMSGSIZE)
            {
                return false;
            }
            if (message.Info > 0)
            {
                _region.Set(ChannelCounter.PathMtu, message.Info);
            }
            return true;
        }
        if (message.Kind is not (ErrQueueKind.Icmp or ErrQueueKind.Icmp6))
        {
            return false;
        }
        NetworkErrorKind kind = KindOf(message.Errno);
        Count(kind switch
        {
            NetworkErrorKind.Refused => Slot.Refused,
            NetworkErrorKind.HostUnreachable => Slot.HostUnreachable,
            NetworkErrorKind.NetUnreachable => Slot.NetUnreachable,
            NetworkErrorKind.HostDown => Slot.HostDown,
            NetworkErrorKind.TooBig => Slot.TooBig,
            _ => Slot.Other,
        });
        int mtu = kind == NetworkErrorKind.TooBig ? (int)message.Info : 0;
        if (mtu > 0)
        {
            _region.Set(ChannelCounter.PathMtu, mtu);
        }
        NetworkErrorAttribution attribution = _window.Match(quote, out SentPacket packet);
        Count(attribution switch
        {
            NetworkErrorAttribution.Exact => Slot.Exact,
            NetworkErrorAttribution.ByOrder => Slot.ByOrder,
            _ => Slot.Unattributed,
        });
        if (_reports.Requested)
        {
            _reports.WriteNetworkError(new TxNetworkErrorReport
            {
                PacketId = packet.PacketId,
                DueNs = packet.DueNs,
                SentNs = packet.SentNs,
                ClientTag = packet.ClientTag,
                ReportedNs = now,
                Kind = (int)kind,
                Attribution = (int)attribution,
                Errno = message.Errno,
                Origin = message.Origin,
                IcmpType = message.Type,
                IcmpCode = message.Code,
                Mtu = mtu,
                Offender = message.Offender,
            });
        }
        return true;
    }

    /// <summary>What an ICMP error is, by the errno the kernel made of it (the same for ICMP and ICMPv6).</summary>
    public static NetworkErrorKind KindOf(int errorNumber) => errorNumber switch
    {
        Errno.ECONNREFUSED => NetworkErrorKind.Refused,
        Errno.EHOSTUNREACH => NetworkErrorKind.HostUnreachable,
        Errno.ENETUNREACH => NetworkErrorKind.NetUnreachable,
        Errno.EHOSTDOWN => NetworkErrorKind.HostDown,
        Errno.EMSGSIZE => NetworkErrorKind.TooBig,
        _ => NetworkErrorKind.Other,
    };

    private void Count(Slot slot)
    {
        _pending[(int)slot]++;
        _dirty = true;
    }

    /// <summary>Publishes what was counted since the last call.</summary>
    public void PublishCounters()
    {
        if (!_dirty)
        {
            return;
        }
        ReadOnlySpan<int> counters = Counted;
        for (int i = 0; i < counters.Length; i++)
        {
            if (_pending[i] != 0)
            {
                _region.Add((ChannelCounter)counters[i], _pending[i]);
                _pending[i] = 0;
            }
        }
        _dirty = false;
    }

    public void Dispose()
    {
        _window.Dispose();
        System.Runtime.InteropServices.NativeMemory.Free(_pending);
    }
}
