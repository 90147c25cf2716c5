namespace RtUdp.Core.Native;

/// <summary>A native call failed; carries the call name and errno so callers can branch on the cause.</summary>
public sealed class NativeCallException : Exception
{
    public NativeCallException(string call, int errno)
        : base($"{call} failed: {Native.Errno.Describe(errno)}")
    {
        Call = call;
        Errno = errno;
    }

    /// <summary>The native function (or syscall/operation) that failed, e.g. "sched_setscheduler".</summary>
    public string Call { get; }

    public int Errno { get; }
}
