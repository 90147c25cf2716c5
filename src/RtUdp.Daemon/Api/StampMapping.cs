using CoreStampSource = RtUdp.Core.Timestamping.StampSource;

namespace RtUdp.Daemon.Api;

/// <summary>The engine's stamp sources as the API names them, and the clock each was taken in.</summary>
internal static class StampMapping
{
    public static V1.StampSource ToProto(CoreStampSource source) => source switch
    {
        CoreStampSource.Worker => V1.StampSource.Worker,
        CoreStampSource.Software => V1.StampSource.Software,
        CoreStampSource.Hardware => V1.StampSource.Hardware,
        _ => V1.StampSource.Unspecified,
    };

    public static V1.ClockDomain DomainOf(CoreStampSource source) => source switch
    {
        CoreStampSource.Worker => V1.ClockDomain.Monotonic,
        CoreStampSource.Software => V1.ClockDomain.Realtime,
        CoreStampSource.Hardware => V1.ClockDomain.Phc,
        _ => V1.ClockDomain.Unspecified,
    };
}
