using RtUdp.Core.Contract.Clients;

namespace RtUdp.Native.Exports;

/// <summary>
/// A message for each status, UTF-8 literals (no allocation): what <c>rtudp_last_error</c> says when the client
/// classes had nothing more specific to say.
/// </summary>
internal static class StatusText
{
    public static ReadOnlySpan<byte> Of(ShmStatus status) => status switch
    {
        ShmStatus.Invalid => "invalid argument"u8,
        ShmStatus.NotFound => "no such channel"u8,
        ShmStatus.Permission => "not allowed"u8,
        ShmStatus.Again => "the ring is full (or the engine is throttling this client): try again"u8,
        ShmStatus.Timeout => "nothing received within the timeout"u8,
        ShmStatus.TooLarge => "payload over the channel's max payload"u8,
        ShmStatus.Detached => "the attachment ended (detached, channel deleted, or engine restart failed)"u8,
        ShmStatus.Faulted => "the engine found the ring corrupt and stopped reading it"u8,
        ShmStatus.Version => "ABI or layout version mismatch between librtudp and rtudpd"u8,
        ShmStatus.Connect => "rtudpd's socket could not be reached"u8,
        ShmStatus.Exhausted => "a limit refused the attachment"u8,
        ShmStatus.Precondition => "the channel cannot do that (direction, a receiver already attached, not running)"u8,
        ShmStatus.System => "a system call failed"u8,
        ShmStatus.Buffer => "the receive buffer is smaller than the packet (the packet stays)"u8,
        _ => "unknown status"u8,
    };
}
