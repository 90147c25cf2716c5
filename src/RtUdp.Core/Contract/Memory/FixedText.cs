using System.Text;

namespace RtUdp.Core.Contract.Memory;

/// <summary>NUL-terminated UTF-8 text in fixed-size fields of shared-memory structs.</summary>
public static unsafe class FixedText
{
    /// <summary>Writes <paramref name="text"/>, cut on a character boundary to leave room for the NUL.</summary>
    public static void Write(string? text, Span<byte> destination)
    {
        destination.Clear();
        if (string.IsNullOrEmpty(text))
        {
            return;
        }
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int length = Math.Min(bytes.Length, destination.Length - 1);
        while (length < bytes.Length && length > 0 && (bytes[length] & 0xC0) == 0x80)
        {
            length--;
        }
        bytes.AsSpan(0, length).CopyTo(destination);
    }

    public static void Write(string? text, byte* destination, int capacity) => Write(text, new Span<byte>(destination, capacity));

    public static string Read(byte* bytes, int capacity)
    {
        int length = new ReadOnlySpan<byte>(bytes, capacity).IndexOf((byte)0);
        return Encoding.UTF8.GetString(bytes, length >= 0 ? length : capacity);
    }
}
