using RtUdp.Core.Contract.Clients;
using RtUdp.Core.ShmClient;

namespace RtUdp.Native.Exports;

/// <summary>
/// Turns a refused call or an exception into the negative code C gets and the thread's message. No exception may
/// cross into C (the process would abort): every export catches everything and comes here.
/// </summary>
internal static class Failure
{
    public static int Of(ShmStatus status, ReadOnlySpan<byte> utf8Message) => LastError.Set((int)status, utf8Message);

    /// <summary>The client classes' own message when they left one, else the status's generic text.</summary>
    public static int Of(ShmStatus status, string? message) =>
        string.IsNullOrEmpty(message) ? LastError.Set((int)status, StatusText.Of(status)) : LastError.Set((int)status, message);

    public static int Of(Exception exception) => exception switch
    {
        ShmException shm => LastError.Set((int)shm.Status, shm.Message),
        ArgumentException argument => LastError.Set((int)ShmStatus.Invalid, argument.Message),
        // Anything else is a failure of the library or the system under it: say what it was.
        _ => LastError.Set((int)ShmStatus.System, $"{exception.GetType().Name}: {exception.Message}"),
    };

    public static int Invalid(ReadOnlySpan<byte> utf8Message) => LastError.Set((int)ShmStatus.Invalid, utf8Message);
}
