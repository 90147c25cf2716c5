namespace RtUdp.Core.Channels;

/// <summary>What a channel does, numbered as in the original RtUdp (0 send, 1 receive, 2 both).</summary>
public enum ChannelDirection
{
    Send = 0,
    Receive = 1,
    Duplex = 2,
}

/// <summary>How the send worker waits for a packet's time.</summary>
public enum TimingStrategy
{
    /// <summary>Sleep until the packet's time (an absolute hrtimer): cheapest, as late as the timer wake-up.</summary>
    Sleep = 0,

    /// <summary>Sleep until the packet's time minus a margin, then spin on the clock: sub-microsecond when the wake-up beats the margin.</summary>
    Hybrid = 1,

    /// <summary>Spin whenever a packet is queued (sleeps only when the queue is empty). Not allowed at SCHED_FIFO: RT throttling would take the CPU for 50 ms of each second.</summary>
    Spin = 2,
}

/// <summary>What to do with a packet whose time passed more than the late tolerance ago.</summary>
public enum LatePolicy
{
    /// <summary>Send it at once and count it late.</summary>
    SendLate = 0,

    /// <summary>Drop it and count it (dropped: late).</summary>
    Drop = 1,
}

/// <summary>Channel behaviour switches.</summary>
[Flags]
public enum ChannelFlags
{
    None = 0,

    /// <summary>Fail the channel's start if the workers cannot get SCHED_FIFO, their CPU or locked memory, instead of running degraded.</summary>
    RequireRealtime = 1,
}
