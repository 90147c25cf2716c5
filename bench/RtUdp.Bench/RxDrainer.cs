using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Rings;
using RtUdp.Core.EngineLink;

namespace RtUdp.Bench;

/// <summary>
/// A thread (pinned) that empties a receive channel's RX ring as a client would, but without copying the
/// packets out: the receive benchmark measures the engine's receive worker, not a client's copies.
/// It counts what it takes as Drained (the one drainer of the channel), so the channel's accounting balances.
/// Polls the ring every millisecond: a 32 MiB ring holds far more than that at any rate reached here.
/// </summary>
internal sealed class RxDrainer : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public RxDrainer(ChannelHandle channel, int cpu)
    {
        _thread = new Thread(() => Run(channel, cpu)) { Name = "bench-rx-drainer", IsBackground = true };
        _thread.Start();
    }

    public long Drained { get; private set; }

    private unsafe struct Counter : IRecordHandler
    {
        public bool OnRecord(int type, byte* body, int length) => true;
    }

    private void Run(ChannelHandle channel, int cpu)
    {
        Util.Pin(cpu);
        ChannelRegion region = channel.Region;
        var counter = new Counter();
        long drained = 0;
        while (!_stop)
        {
            int n = region.RxRing.Read(ref counter, 4096);
            if (n > 0)
            {
                region.Add(ChannelCounter.Drained, n);
                drained += n;
            }
            else
            {
                Thread.Sleep(1);
            }
        }
        Drained = drained;
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    public void Dispose() => Stop();
}
