using RtUdp.Core.Contract.Clients;

namespace RtUdp.Core.ShmClient;

/// <summary>A connect or an attach failed: <see cref="Status"/> is the code a C caller gets (<c>RTUDP_E_*</c>).</summary>
public sealed class ShmException : Exception
{
    public ShmException()
    {
    }

    public ShmException(string message) : base(message)
    {
    }

    public ShmException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public ShmException(ShmStatus status, string message) : base(message) => Status = status;

    public ShmException(ShmStatus status, string message, Exception innerException) : base(message, innerException) => Status = status;

    public ShmStatus Status { get; } = ShmStatus.System;
}
