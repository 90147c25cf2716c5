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
