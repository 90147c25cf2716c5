using RtUdp.Core.Contract.Channels;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Native;
using RtUdp.Daemon.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Generators;

/// <summary>
/// One running schedule: a thread of the daemon that keeps the channel's TX ring filled with the
/// schedule's packets up to <see cref="GeneratorPlan.LookaheadNs"/> ahead of their due times, each
/// with its precomputed due time; the engine's send worker sends them at those times. The thread wakes
/// when a quarter of the window has been used up, so it does one burst of work per quarter window (not
/// one wake-up per packet) and a pause of the daemon (GC, scheduling) shorter than three quarters of the
/// window is invisible on the wire. It allocates nothing per packet.
/// <para>
/// A full ring: the thread flushes, waits 1 ms and retries the same packet (counted in full_waits;
/// nothing is dropped). An engine restart (the channel detached, then restored with a new handle):
/// it waits for the channel to come back (engine_waits) and goes on with the next packet not yet
/// enqueued; packets that were in the dead engine's ring are that engine's loss. A channel that stops
/// accepting (stopped, deleted) ends the generator as FAILED, counting the packet it could not enqueue.
/// </para>
/// <para>
/// Schedule, counters and state are guarded by <see cref="_gate"/>; a packet is read from the schedule,
/// enqueued and the schedule advanced under it, so a rate change (<see cref="Update"/>) applies exactly
/// from the next packet not yet enqueued.
/// </para>
/// </summary>
internal sealed partial class PacketGenerator
{
    private const int FlushEvery = 64;
    private const int FullWaitMs = 1;
    private const int EngineWaitMs = 50;

    private readonly object _gate = new();
    private readonly ChannelEntry _channel;
    private readonly GeneratorPlan _plan;
    private readonly IPacketSchedule _schedule;
    private readonly Queue<long> _queuedDue = new();
    private readonly Thread _thread;
    private readonly ILogger _logger;
    private GeneratorCounters _counters = new();
    private GeneratorState _state = GeneratorState.Running;
    private bool _stopRequested;
    private long _queuedAtStop;
    private string _error = "";

    public PacketGenerator(string name, ChannelEntry channel, GeneratorSpec spec, GeneratorPlan plan, ILogger logger)
    {
        Name = name;
        Spec = spec;
        _channel = channel;
        _plan = plan;
        _schedule = plan.CreateSchedule();
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "rtudp-generator" };
    }

    public string Name { get; }

    public string ChannelName => _channel.Name;

    public GeneratorSpec Spec { get; }

    public bool Finished
    {
        get
        {
            lock (_gate)
            {
                return _state != GeneratorState.Running;
            }
        }
    }

    public void Start()
    {
        Log.Started(_logger, Name, _plan.StartNs);
        _thread.Start();
    }

    /// <summary>Applies a rate from the next packet not yet enqueued; returns that packet's index and due time, or null when the schedule has no such rate.</summary>
    public (long Index, long DueNs)? Update(ScheduleRate rate)
    {
        lock (_gate)
        {
            if (!_schedule.SetRate(rate))
            {
                return null;
            }
            Monitor.PulseAll(_gate);
            return (_schedule.Index, _schedule.DueNs);
        }
    }

    /// <summary>Stops enqueueing (no packet is enqueued once this returns) and counts the packets enqueued but not yet due.</summary>
    /// <param name="note">Why, when not by StopGenerator (shown as the generator's error text).</param>
    public void Stop(string note = "")
    {
        lock (_gate)
        {
            if (_state != GeneratorState.Running)
            {
                return;
            }
            _stopRequested = true;
            _queuedAtStop = CountQueued(Libc.MonotonicNow());
            Finish(GeneratorState.Stopped, note);
            Monitor.PulseAll(_gate);
        }
        if (Thread.CurrentThread != _thread && _thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    public Generator ToProto()
    {
        lock (_gate)
        {
            return new Generator
            {
                Name = Name,
                Spec = Spec,
                State = _state,
                Counters = _counters.Clone(),
                StartMonotonicNs = _plan.StartNs,
                NextIndex = _schedule.Index,
                NextDueMonotonicNs = _schedule.DueNs,
                QueuedAtStop = _queuedAtStop,
                Error = _error,
            };
        }
    }

    private void Run()
    {
        try
        {
            Loop();
        }
#pragma warning disable CA1031 // the generator's thread must end in a state the API can report
        catch (Exception e)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                Finish(GeneratorState.Failed, $"{e.GetType().Name}: {e.Message}");
            }
        }
    }

    private void Loop()
    {
        while (true)
        {
            int waitMs = Fill();
            if (waitMs < 0)
            {
                return;
            }
            // Waits without a lease on the channel, so a delete never waits for a sleeping generator.
            lock (_gate)
            {
                if (WaitOrStop(waitMs))
                {
                    return;
                }
            }
        }
    }

    /// <summary>Enqueues what is due within the window; returns how long to wait before the next look, or -1 when the generator has ended.</summary>
    private int Fill()
    {
        using ChannelEntry.Lease? lease = _channel.Enter();
        if (lease is null)
        {
            lock (_gate)
            {
                if (_channel.Closing)
                {
                    Finish(GeneratorState.Failed, $"{_channel.Name} was deleted");
                    return -1;
                }
                // Detached (engine restarting): wait for the channel to be restored with a new handle.
                _counters.EngineWaits++;
                return EngineWaitMs;
            }
        }
        ChannelHandle handle = lease.Handle;
        int sinceFlush = 0;
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_stopRequested || _state != GeneratorState.Running)
                    {
                        return -1;
                    }
                    if (_schedule.Exhausted || (_plan.Count > 0 && _schedule.Index >= _plan.Count) || _schedule.DueNs >= _plan.EndNs)
                    {
                        Finish(GeneratorState.Completed, "");
                        return -1;
                    }
                    long now = Libc.MonotonicNow();
                    long due = _schedule.DueNs;
                    if (due > now + _plan.LookaheadNs)
                    {
                        // The window is full: sleep until three quarters of it are left, so a pause of up to
                        // 3/4 of the look-ahead (GC, a loaded host) still finds every packet enqueued in time.
                        return (int)Math.Clamp((due - (_plan.LookaheadNs * 3 / 4) - now) / 1_000_000, 1, 1000);
                    }
                    switch (handle.TryEnqueue(PayloadOf(), due, _schedule.Index, signal: false))
                    {
                        case EnqueueResult.Ok:
                            Enqueued(due, now);
                            if (++sinceFlush >= FlushEvery)
                            {
                                handle.Flush();
                                sinceFlush = 0;
                            }
                            break;
                        case EnqueueResult.TooLarge:
                            _counters.Generated++;
                            _counters.RejectedTooLarge++;
                            _schedule.Advance();
                            break;
                        case EnqueueResult.Full:
                            _counters.FullWaits++;
                            return FullWaitMs;
                        default:
                            if (!ReferenceEquals(_channel.Handle, handle) || _channel.Closing)
                            {
                                return 0; // detached or deleted meanwhile: look again with a new lease
                            }
                            _counters.Generated++;
                            _counters.RejectedNotAccepting++;
                            Finish(GeneratorState.Failed, $"{_channel.Name} stopped accepting packets ({handle.State.ToString().ToLowerInvariant()})");
                            return -1;
                    }
                }
            }
        }
        finally
        {
            // Wakes the send worker for what this round enqueued (it may be parked on an empty ring).
            handle.Flush();
        }
    }

    /// <summary>Waits (releasing the gate) for <paramref name="ms"/> or an update/stop; true when stopped. Call under the gate.</summary>
    private bool WaitOrStop(int ms)
    {
        if (!_stopRequested && ms > 0)
        {
            Monitor.Wait(_gate, ms);
        }
        return _stopRequested || _state != GeneratorState.Running;
    }

    private ReadOnlySpan<byte> PayloadOf() => _schedule.Payload is { } own ? own.Span : _plan.Payload.For(_schedule.Index);

    private void Enqueued(long due, long now)
    {
        _counters.Generated++;
        _counters.Enqueued++;
        if (due < now)
        {
            _counters.EnqueuedLate++;
        }
        // Due times of the packets still ahead (for queued_at_stop); the past ones are let go as we go.
        while (_queuedDue.Count > 0 && _queuedDue.Peek() <= now)
        {
            _queuedDue.Dequeue();
        }
        _queuedDue.Enqueue(due);
        _schedule.Advance();
    }

    private long CountQueued(long now) => _queuedDue.Count(d => d > now);

    private void Finish(GeneratorState state, string error)
    {
        if (_state != GeneratorState.Running)
        {
            return;
        }
        _state = state;
        _error = error;
        string word = state switch
        {
            GeneratorState.Completed => "completed",
            GeneratorState.Stopped => "stopped",
            _ => "failed",
        };
        Log.Finished(_logger, Name, word, _counters.Generated, _counters.Enqueued, error);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Generator {Generator} started, first packet due at {StartMonotonicNs} (CLOCK_MONOTONIC ns)")]
        public static partial void Started(ILogger logger, string generator, long startMonotonicNs);

        [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Generator {Generator} {State}: {Generated} generated, {Enqueued} enqueued; {Error}")]
        public static partial void Finished(ILogger logger, string generator, string state, long generated, long enqueued, string error);
    }
}
