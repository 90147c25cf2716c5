using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Shm;

/// <summary>
/// The attachments the broker serves: client ids (unique per daemon life), the per-user and the daemon-wide
/// limits, and the lookups an engine restart and a channel deletion need.
/// </summary>
internal sealed class ShmSessions
{
    private readonly Lock _gate = new();
    private readonly List<ShmSession> _sessions = [];
    private readonly Dictionary<uint, int> _reservedByUid = [];
    private int _reserved;
    private uint _nextClientId;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>
    /// Reserves one attachment for <paramref name="uid"/> within the limits; null and why not otherwise.
    /// Undo with <see cref="Unreserve"/> when the attach fails, or through <see cref="Remove"/>.
    /// </summary>
    public string? TryReserve(uint uid, int perUid, int total, out uint clientId)
    {
        lock (_gate)
        {
            clientId = 0;
            if (_reserved >= total)
            {
                return $"rtudpd serves at most {total} same-host attachments at once, all in use";
            }
            int mine = _reservedByUid.GetValueOrDefault(uid);
            if (perUid > 0 && mine >= perUid)
            {
                return $"uid {uid} holds {mine} same-host attachments, the most one user may (Limits:PerClientShmAttachments = {perUid})";
            }
            _reservedByUid[uid] = mine + 1;
            _reserved++;
            clientId = ++_nextClientId;
            return null;
        }
    }

    public void Unreserve(uint uid)
    {
        lock (_gate)
        {
            _reserved--;
            if (--_reservedByUid[uid] == 0)
            {
                _reservedByUid.Remove(uid);
            }
        }
    }

    public void Add(ShmSession session)
    {
        lock (_gate)
        {
            _sessions.Add(session);
        }
    }

    /// <summary>Removes it and gives its reservation back; false when it was already gone.</summary>
    public bool Remove(ShmSession session)
    {
        lock (_gate)
        {
            if (!_sessions.Remove(session))
            {
                return false;
            }
        }
        Unreserve(session.Peer.Uid);
        return true;
    }

    public IReadOnlyList<ShmSession> Snapshot()
    {
        lock (_gate)
        {
            return [.. _sessions];
        }
    }

    public IReadOnlyList<ShmSession> On(ChannelEntry channel)
    {
        lock (_gate)
        {
            return [.. _sessions.Where(s => ReferenceEquals(s.Channel, channel))];
        }
    }
}
