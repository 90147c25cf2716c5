using RtUdp.Core.ShmClient;

namespace RtUdp.Native.Handles;

/// <summary>
/// What an <c>rtudp_client*</c> points at (through a <see cref="System.Runtime.InteropServices.GCHandle"/>): the client
/// and the channels attached through it, whose handles <c>rtudp_disconnect</c> must free with them.
/// </summary>
internal sealed class NativeClient(ShmClient connection)
{
    private readonly List<NativeChannel> _channels = [];
    private readonly Lock _gate = new();

    public ShmClient Connection { get; } = connection;

    public void Add(NativeChannel channel)
    {
        lock (_gate)
        {
            _channels.Add(channel);
        }
    }

    /// <summary>Forgets a channel (detached by <c>rtudp_detach</c>); false if it was not this client's.</summary>
    public bool Remove(NativeChannel channel)
    {
        lock (_gate)
        {
            return _channels.Remove(channel);
        }
    }

    /// <summary>The channels still attached, forgotten: <c>rtudp_disconnect</c> detaches and frees them.</summary>
    public NativeChannel[] TakeAll()
    {
        lock (_gate)
        {
            NativeChannel[] all = [.. _channels];
            _channels.Clear();
            return all;
        }
    }
}
