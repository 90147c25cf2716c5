using RtUdp.Core.Native;

namespace RtUdp.Core.Net.Netlink;

/// <summary>Generic netlink helpers: a family's id from its name (CTRL_CMD_GETFAMILY) and a request to it. Control path.</summary>
public static class GenericNetlink
{
    /// <summary>The id of family <paramref name="name"/> ("netdev", "ethtool", ...), or null when this kernel has no such family.</summary>
    /// <exception cref="NativeCallException">Netlink failed otherwise.</exception>
    public static ushort? FamilyId(NetlinkSocket netlink, string name, long deadline)
    {
        ArgumentNullException.ThrowIfNull(netlink);
        uint sequence = NetlinkSocket.NextSequence();
        byte[] request = Request(Libc.GENL_ID_CTRL, Libc.CTRL_CMD_GETFAMILY, 1, sequence)
            .Attribute(Libc.CTRL_ATTR_FAMILY_NAME, name)
            .ToArray();
        List<NetlinkMessage> answer;
        try
        {
            answer = netlink.Transact(request, sequence, deadline, $"CTRL_CMD_GETFAMILY {name}");
        }
        catch (NativeCallException e) when (e.Errno == Errno.ENOENT)
        {
            return null;
        }

        foreach (NetlinkMessage message in answer)
        {
            ReadOnlySpan<byte> attributes = Attributes(message);
            foreach (NetlinkAttribute attribute in new NetlinkAttributeReader(attributes))
            {
                if (attribute.Type == Libc.CTRL_ATTR_FAMILY_ID)
                {
                    return (ushort)attribute.AsUnsigned(attributes);
                }
            }
        }

        throw new InvalidDataException($"CTRL_CMD_GETFAMILY {name}: no CTRL_ATTR_FAMILY_ID in the answer");
    }

    /// <summary>Starts a request to family <paramref name="familyId"/>: nlmsghdr (NLM_F_REQUEST | NLM_F_ACK) and genlmsghdr.</summary>
    public static NetlinkRequestBuilder Request(ushort familyId, byte command, byte version, uint sequence)
    {
        Libc.genlmsghdr genl = default;
        genl.cmd = command;
        genl.version = version;
        return new NetlinkRequestBuilder(familyId, Libc.NLM_F_REQUEST | Libc.NLM_F_ACK, sequence).Append(genl);
    }

    /// <summary>The attributes of a generic netlink message: its payload after genlmsghdr.</summary>
    public static unsafe ReadOnlySpan<byte> Attributes(NetlinkMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        int header = NetlinkSocket.Align(sizeof(Libc.genlmsghdr));
        if (message.Payload.Length < header)
        {
            throw new InvalidDataException($"generic netlink message of {message.Payload.Length} bytes is shorter than genlmsghdr");
        }
        return message.Payload.AsSpan(header);
    }
}
