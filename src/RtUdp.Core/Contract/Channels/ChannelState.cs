namespace RtUdp.Core.Contract.Channels;

/// <summary>Lifecycle of a channel, as the original object's init_socket / start / stop / close_socket.</summary>
public enum ChannelState
{
    None = 0,

    /// <summary>Socket bound; packets may be enqueued; workers not running.</summary>
    Created = 1,

    /// <summary>Workers running.</summary>
    Running = 2,

    /// <summary>Workers stopped; what was still queued was dropped and counted (dropped: stopped).</summary>
    Stopped = 3,

    /// <summary>Socket closed; the file is about to be removed.</summary>
    Deleted = 4,

    /// <summary>A worker failed; see the engine log and the workers' setup errno.</summary>
    Failed = 5,
}
