using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Channels;

namespace RtUdp.Core.Control;

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
            Write(path, p, PathBytes);
        }
        fixed (byte* m = Message)
        {
            Write(message, m, MessageBytes);
        }
        fixed (byte* f = Field)
        {
            Write(field, f, FieldBytes);
        }
    }

    public readonly string GetPath()
    {
        fixed (byte* p = Path)
        {
            return Marshal.PtrToStringUTF8((nint)p) ?? "";
        }
    }

    public readonly string GetMessage()
    {
        fixed (byte* m = Message)
        {
            return Marshal.PtrToStringUTF8((nint)m) ?? "";
        }
    }

    public readonly string? GetField()
    {
        fixed (byte* f = Field)
        {
            string value = Marshal.PtrToStringUTF8((nint)f) ?? "";
            return value.Length == 0 ? null : value;
        }
    }

    private static void Write(string? text, byte* destination, int capacity)
    {
        Span<byte> span = new(destination, capacity);
        span.Clear();
        if (!string.IsNullOrEmpty(text))
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            int length = Math.Min(bytes.Length, capacity - 1);
            // Cut on a character boundary (never inside a multi-byte sequence), keeping the NUL.
            while (length < bytes.Length && length > 0 && (bytes[length] & 0xC0) == 0x80)
            {
                length--;
            }
            bytes.AsSpan(0, length).CopyTo(span);
        }
    }
}
