namespace RtUdp.Core.Contract.Clients;

/// <summary>A region that cannot be used (bad header, wrong version, a ring found corrupt on the client's side).</summary>
public sealed class ClientRegionException : Exception
{
    public ClientRegionException()
    {
    }

    public ClientRegionException(string message) : base(message)
    {
    }

    public ClientRegionException(string message, Exception innerException) : base(message, innerException)
    {
    }

    public ClientRegionException(ShmStatus status, string message) : base(message) => Status = status;

    /// <summary>The code a native caller gets for it.</summary>
    public ShmStatus Status { get; } = ShmStatus.Invalid;
}
