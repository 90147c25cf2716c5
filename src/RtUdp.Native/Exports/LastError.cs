using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Unicode;

namespace RtUdp.Native.Exports;

/// <summary>
/// The thread-local message behind <c>rtudp_last_error()</c>: UTF-8, NUL-terminated, owned by the library and
/// valid until the same thread's next failing call. Each thread gets one buffer on the pinned object heap the first
/// time one of its calls fails, so setting a message later never allocates: a send that finds the ring full
/// (<c>RTUDP_E_AGAIN</c>, the common failure on the hot path) copies a UTF-8 literal into it.
/// </summary>
internal static unsafe class LastError
{
    /// <summary>Longer messages are cut (on a UTF-8 character boundary) to fit, with the NUL.</summary>
    internal const int Capacity = 512;

    [ThreadStatic]
    private static byte[]? t_buffer;

    private static ReadOnlySpan<byte> Empty => "\0"u8;

    /// <summary>The pointer <c>rtudp_last_error</c> returns: this thread's message, or "" if none of its calls failed.</summary>
    internal static byte* Pointer
    {
        get
        {
            byte[]? buffer = t_buffer;
            // The literal lives in the image's read-only data: its address is stable.
            return buffer is null
                ? (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(Empty))
                : (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        }
    }

    /// <summary>Sets this thread's message to a UTF-8 literal (no allocation once the thread has its buffer).</summary>
    internal static int Set(int status, ReadOnlySpan<byte> utf8)
    {
        Span<byte> buffer = Buffer();
        int length = Math.Min(utf8.Length, Capacity - 1);
        utf8[..length].CopyTo(buffer);
        buffer[TrimToCharacter(buffer, length)] = 0;
        return status;
    }

    /// <summary>Sets this thread's message from UTF-16 (no allocation once the thread has its buffer).</summary>
    internal static int Set(int status, ReadOnlySpan<char> message)
    {
        Span<byte> buffer = Buffer();
        // What fits is written even when the whole does not (DestinationTooSmall); lone surrogates become U+FFFD.
        _ = Utf8.FromUtf16(message, buffer[..(Capacity - 1)], out _, out int written);
        buffer[TrimToCharacter(buffer, written)] = 0;
        return status;
    }

    /// <summary>Where <see cref="Message"/> formats a message in place, then <see cref="End"/> with the bytes written.</summary>
    internal static Span<byte> Begin() => Buffer()[..(Capacity - 1)];

    internal static int End(int status, int written)
    {
        Span<byte> buffer = Buffer();
        buffer[TrimToCharacter(buffer, Math.Clamp(written, 0, Capacity - 1))] = 0;
        return status;
    }

    private static Span<byte> Buffer() => t_buffer ??= GC.AllocateUninitializedArray<byte>(Capacity, pinned: true);

    /// <summary>A cut inside a multi-byte character would leave invalid UTF-8: back up to the character's start.</summary>
    private static int TrimToCharacter(ReadOnlySpan<byte> text, int length)
    {
        if (length == 0 || text[length - 1] < 0x80)
        {
            return length;
        }
        int start = length - 1;
        while (start > 0 && (text[start] & 0xC0) == 0x80)
        {
            start--;
        }
        int lead = text[start];
        int expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return length - start >= expected ? length : start;
    }
}
