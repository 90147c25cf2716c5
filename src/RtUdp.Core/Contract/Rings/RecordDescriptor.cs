using System.Runtime.CompilerServices;

namespace RtUdp.Core.Contract.Rings;

/// <summary>
/// Layout of one record in a <see cref="RecordRing"/>: an 8-byte header, then the body, the whole
/// aligned to 8 bytes so that 64-bit fields in bodies are naturally aligned.
/// </summary>
/// <remarks>
/// <code>
///   0                   4                   8
///   +-------------------+-------------------+----------------
///   | length (int32)    | type (int32)      | body ...
///   +-------------------+-------------------+----------------
/// </code>
/// <c>length</c> counts header and body, before alignment. It is 0 while the slot is free, negative
/// while a producer is writing, positive once published.
/// </remarks>
public static class RecordDescriptor
{
    public const int HeaderLength = 8;
    public const int Alignment = 8;

    public const int LengthOffset = 0;
    public const int TypeOffset = 4;

    /// <summary>Filler that a producer writes to skip the unusable tail of the buffer before wrapping.</summary>
    public const int PaddingType = -1;

    /// <summary>A record the consumer has finished with but not yet reclaimed (out-of-order consumption).</summary>
    public const int ConsumedType = -2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Align(int length) => (length + (Alignment - 1)) & ~(Alignment - 1);
}
