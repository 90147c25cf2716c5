using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;

namespace RtUdp.Bench;

/// <summary>A thread (pinned) that keeps a channel's TX ring non-empty: batches of 64 packets due now, then Flush.</summary>
internal sealed class Feeder : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public Feeder(ChannelHandle channel, int cpu)
    {
        _thread = new Thread(() => Run(channel, cpu)) { Name = "bench-feeder", IsBackground = true };
        _thread.Start();
    }

    public long Enqueued { get; private set; }

    private void Run(ChannelHandle channel, int cpu)
    {
        Util.Pin(cpu);
        byte[] payload = new byte[64];
        long id = 0;
        while (!_stop)
        {
            long now = Libc.MonotonicNow();
            int n = 0;
            for (; n < 64; n++)
            {
                if (channel.TryEnqueue(payload, now, id, signal: false) != EnqueueResult.Ok)
                {
                    break;
                }
                id++;
            }
            channel.Flush();
            if (n < 64)
            {
                // Full: the ring holds far more than a millisecond of packets, so back off for one
                // instead of polling its cache lines while the worker drains it.
                Thread.Sleep(1);
            }
        }
        Enqueued = id;
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    public void Dispose() => Stop();
}

/// <summary>A thread (pinned) that allocates garbage at a set rate, keeping 1 in 16 arrays alive for a while so some survive gen0.</summary>
internal sealed class Garbage : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;

    public Garbage(int cpu, long bytesPerSecond)
    {
        _thread = new Thread(() => Run(cpu, bytesPerSecond)) { Name = "bench-garbage", IsBackground = true };
        _thread.Start();
    }

    private void Run(int cpu, long bytesPerSecond)
    {
        Util.Pin(cpu);
        var keep = new byte[4096][];
#pragma warning disable CA5394 // not security: varied sizes
        var random = new Random(1);
        long start = Libc.MonotonicNow();
        long allocated = 0;
        while (!_stop)
        {
            for (int i = 0; i < 256; i++)
            {
                byte[] array = new byte[random.Next(64, 8192)];
                allocated += array.Length;
                if ((i & 15) == 0)
                {
                    keep[random.Next(keep.Length)] = array;
                }
            }
#pragma warning restore CA5394
            // Paced: wait until the clock catches up with what was allocated.
            long due = start + (long)(allocated * 1e9 / bytesPerSecond);
            while (!_stop && due - Libc.MonotonicNow() > 1_000_000)
            {
                Thread.Sleep(1);
            }
        }
        GC.KeepAlive(keep);
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    public void Dispose() => Stop();
}
