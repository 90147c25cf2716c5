namespace RtUdp.Core.Timestamping;

/// <summary>Which clock reading a latency figure came from, from least to most precise.</summary>
public enum StampSource : byte
{
    /// <summary>No stamp: the figure is unavailable.</summary>
    None = 0,

    /// <summary>The worker thread read CLOCK_MONOTONIC around its syscall (includes scheduling and syscall cost).</summary>
    Worker = 1,

    /// <summary>The kernel's software stamp (SCM_TIMESTAMPING ts[0], CLOCK_REALTIME).</summary>
    Software = 2,

    /// <summary>The NIC's stamp (SCM_TIMESTAMPING ts[2], the PHC's clock).</summary>
    Hardware = 3,
}
