using System.Buffers.Text;

namespace RtUdp.Native.Exports;

/// <summary>
/// Builds a message with numbers in it straight into the thread's <see cref="LastError"/> buffer, for the refusals
/// of the hot path (a payload too large, unknown flags). Numbers go through <see cref="Utf8Formatter"/>, not generic
/// interpolation, which boxes them in code the JIT has not optimised yet: nothing here allocates.
/// </summary>
internal ref struct Message
{
    private readonly Span<byte> _buffer;
    private int _length;

    public Message() => _buffer = LastError.Begin();

    public void Append(scoped ReadOnlySpan<byte> utf8)
    {
        int n = Math.Min(utf8.Length, _buffer.Length - _length);
        utf8[..n].CopyTo(_buffer[_length..]);
        _length += n;
    }

    public void Append(uint value)
    {
        if (Utf8Formatter.TryFormat(value, _buffer[_length..], out int written))
        {
            _length += written;
        }
    }

    public void AppendHex(uint value)
    {
        if (Utf8Formatter.TryFormat(value, _buffer[_length..], out int written, new System.Buffers.StandardFormat('x')))
        {
            _length += written;
        }
    }

    /// <summary>Terminates the message and returns <paramref name="status"/> (the code the export returns).</summary>
    public readonly int End(int status) => LastError.End(status, _length);
}
