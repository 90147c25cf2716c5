using System.Globalization;
using RtUdp.Core.Net;

namespace RtUdp.Daemon.Shm;

/// <summary>
/// Who is on the other end of a broker connection (SO_PEERCRED, SO_PEERGROUPS), and whether it may attach: root,
/// the daemon's own user, or a member of the socket's group (its primary or a supplementary group).
/// </summary>
internal sealed class ShmPeer
{
    private ShmPeer(PeerCredentials credentials, uint[] groups)
    {
        Pid = credentials.Pid;
        Uid = credentials.Uid;
        Gid = credentials.Gid;
        Groups = groups;
    }

    public int Pid { get; }

    public uint Uid { get; }

    public uint Gid { get; }

    public IReadOnlyList<uint> Groups { get; }

    /// <summary>"pid 1234, uid 1000": how the daemon names a client in messages and logs.</summary>
    public string Description => $"pid {Pid}, uid {Uid}";

    /// <exception cref="Core.Native.NativeCallException">The kernel did not say (the connection is not a unix socket's).</exception>
    public static ShmPeer Of(int connection) => new(UnixSeqPacket.Peer(connection), UnixSeqPacket.PeerGroups(connection));

    /// <summary>Null when allowed; else why not, naming the user and the group.</summary>
    public string? Refusal(uint daemonUid, uint socketGid)
    {
        if (Uid == 0 || Uid == daemonUid || Gid == socketGid || Groups.Contains(socketGid))
        {
            return null;
        }
        return $"user {UserName(Uid)} (uid {Uid}) is not in group {GroupName(socketGid)} (gid {socketGid}), the group of rtudpd's shared-memory socket";
    }

    /// <summary>The name /etc/passwd gives the uid, else the number.</summary>
    public static string UserName(uint uid) => Lookup("/etc/passwd", uid) ?? uid.ToString(CultureInfo.InvariantCulture);

    /// <summary>The name /etc/group gives the gid, else the number.</summary>
    public static string GroupName(uint gid) => Lookup("/etc/group", gid) ?? gid.ToString(CultureInfo.InvariantCulture);

    // name:x:id:... in both files (where useradd, groupadd and systemd-sysusers put local users and groups).
    private static string? Lookup(string file, uint id)
    {
        try
        {
            string text = id.ToString(CultureInfo.InvariantCulture);
            foreach (string line in File.ReadLines(file))
            {
                string[] fields = line.Split(':');
                if (fields.Length >= 3 && fields[2] == text)
                {
                    return fields[0];
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No name: the number says it.
        }
        return null;
    }
}
