using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Memory;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Contract.Control;

/// <summary>Body of every command record: the correlation id, the channel, and (for create) its config.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CommandBody
{
    public long CorrelationId;
    public uint ChannelId;
    public int Reserved;
    public ChannelConfigBlock Config;
}

/// <summary>
/// Body of AttachClient and DetachClient. Its first 16 bytes are those of <see cref="CommandBody"/> (correlation
/// id, channel), so the conductor reads every command's head the same way.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct ClientCommandBody
{
    public long CorrelationId;
    public uint ChannelId;

    /// <summary>The client id written in the region's header (unique per daemon life).</summary>
    public uint ClientId;

    /// <summary>AttachClient: the token the memfd was sent with over engine.sock.</summary>
    public ulong DescriptorToken;

    /// <summary>AttachClient: Clients.ClientRegionFlags the client attaches with.</summary>
    public uint Flags;

    /// <summary>DetachClient: Clients.ClientExitPolicy.</summary>
    public int ExitPolicy;

    /// <summary>AttachClient: packets per second (0: no limit).</summary>
    public long PacketsPerSecond;

    /// <summary>AttachClient: packets a client may send at once above its rate (0: one).</summary>
    public long Burst;

    /// <summary>AttachClient: packets of this client accepted and not yet due, at most (0: no limit).</summary>
    public long QueuedPackets;

    /// <summary>AttachClient: a due time further ahead is malformed (0: the region's horizon).</summary>
    public long HorizonNs;

    /// <summary>DetachClient: how long a drain may take before what is left is dropped.</summary>
    public long DrainTimeoutNs;
}

/// <summary>Body of a response record.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ResponseBody
{
    public const int PathBytes = 256;
    public const int MessageBytes = 512;
    public const int FieldBytes = 64;

    public long CorrelationId;
    public int Status;
    public int Errno;
    public uint ChannelId;
    public int ChannelState;
    public EndpointBlock BoundLocal;
    public fixed byte Path[PathBytes];
    public fixed byte Message[MessageBytes];
    public fixed byte Field[FieldBytes];

    /// <summary>DetachClient: published records the engine took from the ring at detach and sent on (drain).</summary>
    public long ClientDrained;

    /// <summary>DetachClient: published records dropped at detach (counted as dropped_detach).</summary>
    public long ClientDropped;

    /// <summary>DetachClient: records in the client's RX ring it never read.</summary>
    public long ClientRxUnread;

    /// <summary>DetachClient: 1 while the drain goes on (the counts are not in yet): ask again.</summary>
    public int ClientDetachPending;

    public void SetText(string? path, string? message, string? field)
    {
        fixed (byte* p = Path)
        {
            FixedText.Write(path, p, PathBytes);
        }
        fixed (byte* m = Message)
        {
            FixedText.Write(message, m, MessageBytes);
        }
        fixed (byte* f = Field)
        {
            FixedText.Write(field, f, FieldBytes);
        }
    }

    public readonly string GetPath()
    {
        fixed (byte* p = Path)
        {
            return FixedText.Read(p, PathBytes);
        }
    }

    public readonly string GetMessage()
    {
        fixed (byte* m = Message)
        {
            return FixedText.Read(m, MessageBytes);
        }
    }

    public readonly string? GetField()
    {
        fixed (byte* f = Field)
        {
            string value = FixedText.Read(f, FieldBytes);
            return value.Length == 0 ? null : value;
        }
    }
}
