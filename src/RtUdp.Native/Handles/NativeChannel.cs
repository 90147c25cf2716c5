using RtUdp.Core.ShmClient;

namespace RtUdp.Native.Handles;

/// <summary>
/// What an <c>rtudp_channel*</c> points at: one attachment and the client it was made through. The send and receive
/// paths touch only <see cref="Attachment"/> (its rings are single-producer, single-consumer: one thread each, as
/// rtudp.h says), never the client's lock.
/// </summary>
internal sealed class NativeChannel(NativeClient owner, ShmAttachment attachment)
{
    public NativeClient Owner { get; } = owner;

    public ShmAttachment Attachment { get; } = attachment;

    /// <summary>The <c>rtudp_channel*</c> handed to C (its <see cref="HandleTable"/> entry), freed with the channel.</summary>
    public unsafe void* Handle { get; set; }
}
