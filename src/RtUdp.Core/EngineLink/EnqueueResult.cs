namespace RtUdp.Core.EngineLink;

/// <summary>Outcome of offering one packet to a channel's TX ring.</summary>
public enum EnqueueResult
{
    Ok = 0,

    /// <summary>The ring or the schedule is full (counted: rejected_full). Retry later or slow down.</summary>
    Full = 1,

    /// <summary>The payload exceeds the channel's max_payload.</summary>
    TooLarge = 2,

    /// <summary>The channel is stopped, deleted, failed, or does not send.</summary>
    NotAccepting = 3,
}
