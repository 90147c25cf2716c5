using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Timestamping;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// The send socket's error queue, its one reader: TX stamps go to the <see cref="TxStampCollector"/> (when
/// the channel's timestamps are on), launch-time errors to their counters, ICMP errors to
/// <see cref="NetworkErrors"/>, anything else to the error counters. Read every duty cycle while stamps are
/// awaited, right after a send call reports a network error, and otherwise at least every
/// <see cref="LookEveryNs"/> of a cycle (an idle worker's cycles come at least every 100 ms). Never blocks.
/// </summary>
public sealed class SendErrorQueue : IDisposable
{
    private const int DrainBatch = 128;

    /// <summary>At most this many batches per look, so an error storm cannot hold the worker from its schedule.</summary>
    private const int MaxBatchesPerLook = 8;

    /// <summary>How often a worker with no stamps awaited still looks for ICMP errors.</summary>
    public const long LookEveryNs = 1_000_000;

    private readonly ChannelRegion _region;
    private readonly ErrorQueueReader _reader;
    private readonly TxStampCollector? _stamps;
    private readonly NetworkErrors _network;
    private long _lookedAt = long.MinValue / 2;
    private bool _errorReported;

    public SendErrorQueue(ChannelRegion region, int fd, TxStampCollector? stamps, NetworkErrors network)
    {
        _region = region;
        _reader = new ErrorQueueReader(fd, DrainBatch);
        _stamps = stamps;
        _network = network;
    }

    /// <summary>A send call returned a network error: the error queue holds its ICMP report.</summary>
    public void ErrorReported() => _errorReported = true;

    /// <summary>A send call reported a network error since the last look.</summary>
    public bool ErrorPending => _errorReported;

    /// <summary>Whether to look now: a send reported an error, stamps are awaited, or the last look is long enough ago.</summary>
    public bool Due(long now) => _errorReported || (_stamps?.Awaiting ?? false) || now - _lookedAt >= LookEveryNs;

    /// <summary>Takes what the error queue holds (a bounded amount), then completes packets whose stamps' wait ran out.</summary>
    public void Drain<T>(long now, ref T completion)
        where T : struct, IStampCompletion
    {
        _lookedAt = now;
        _errorReported = false;
        Span<ErrQueueMessage> messages = stackalloc ErrQueueMessage[DrainBatch];
        for (int batch = 0; ; batch++)
        {
            if (batch == MaxBatchesPerLook)
            {
                _errorReported = true; // more may be there: the next cycle looks again
                break;
            }
            int count = _reader.Drain(messages);
            if (count < 0)
            {
                // The read itself failed (-errno): counted like an error the queue held.
                _region.Add(ChannelCounter.ErrorQueueErrors, 1);
                _region.ErrnoCounter(sendSide: true, -count)++;
                break;
            }
            if (count == 0)
            {
                break;
            }
            _stamps?.BeginBatch();
            for (int i = 0; i < count; i++)
            {
                ref ErrQueueMessage message = ref messages[i];
                switch (message.Kind)
                {
                    case ErrQueueKind.TxTimestamp when _stamps is not null:
                        _stamps.OnStamp(message, ref completion);
                        break;
                    case ErrQueueKind.TxTimeError:
                        _region.Add(message.IsTxTimeMissed ? ChannelCounter.LaunchMissed : ChannelCounter.LaunchInvalid, 1);
                        break;
                    default:
                        if (!_network.OnError(message, _reader.Quote(message), now))
                        {
                            _region.Add(ChannelCounter.ErrorQueueErrors, 1);
                            _region.ErrnoCounter(sendSide: true, message.Errno)++;
                        }
                        break;
                }
            }
            if (count < DrainBatch)
            {
                break;
            }
        }
        _stamps?.Expire(now, ref completion);
        _network.PublishCounters();
    }

    public void Dispose() => _reader.Dispose();
}
