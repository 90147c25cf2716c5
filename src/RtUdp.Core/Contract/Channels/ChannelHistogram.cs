namespace RtUdp.Core.Contract.Channels;

/// <summary>The latency histograms in a channel's file, all in ns (differences of one clock: CLOCK_MONOTONIC, or CLOCK_TAI for TAI flows).</summary>
public enum ChannelHistogram
{
    /// <summary>Actual send time minus scheduled time, from the best stamp available (see the SendErrorFrom* counters).</summary>
    SendError = 0,

    /// <summary>Drain time (daemon) minus the packet's best RX stamp.</summary>
    Delivery = 1,

    /// <summary>Stage: scheduled time to the worker's wake-up for it (negative margins count as 0).</summary>
    StageWake = 2,

    /// <summary>Stage: wake-up to the clock read just before sendmmsg (spin and batch building).</summary>
    StageSendCall = 3,

    /// <summary>Stage: sendmmsg to the kernel's SCHED stamp (packet enters the qdisc).</summary>
    StageSched = 4,

    /// <summary>Stage: SCHED stamp (or sendmmsg if none) to the kernel's software SND stamp (handed to the driver).</summary>
    StageSoftware = 5,

    /// <summary>Stage: software SND stamp to the NIC's hardware stamp (on the wire).</summary>
    StageHardware = 6,

    /// <summary>Sequenced flows: arrival (best RX stamp) minus the header's observed send time, where the clocks compare (see FlowLatencyKind).</summary>
    OneWay = 7,

    /// <summary>Sequenced flows: RFC 3550 interarrival jitter after each packet (J += (|D| - J) / 16).</summary>
    Jitter = 8,

    /// <summary>Sequenced duplex channel facing a reflector: arrival of its own packet minus its observed send time.</summary>
    RoundTrip = 9,
}
