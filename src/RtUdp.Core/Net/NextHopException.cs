namespace RtUdp.Core.Net;

/// <summary>The xdp data path cannot send to a destination: no usable route, a local destination, or an unresolved MAC. The message says which.</summary>
public sealed class NextHopException : Exception
{
    public NextHopException()
    {
    }

    public NextHopException(string message)
        : base(message)
    {
    }

    public NextHopException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
