using RtUdp.V1;

namespace RtUdp.Client;

public sealed partial class RtUdpClient
{
    /// <summary>Starts a generator on a sending channel (<paramref name="generatorId"/> empty: the daemon picks "gen-N").</summary>
    public Task<Generator> StartGeneratorAsync(string channel, GeneratorSpec spec, string generatorId = "", CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Generators.StartGeneratorAsync(new StartGeneratorRequest { Parent = ChannelName.Of(channel), GeneratorId = generatorId, Spec = spec }, options).ConfigureAwait(false)).Generator, cancellationToken);

    /// <summary>The generators of <paramref name="channel"/>, or of every channel when null.</summary>
    public Task<IReadOnlyList<Generator>> ListGeneratorsAsync(string? channel = null, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<Generator>>(async options =>
            (await Generators.ListGeneratorsAsync(new ListGeneratorsRequest { Parent = channel is null ? "" : ChannelName.Of(channel) }, options).ConfigureAwait(false)).Generators, cancellationToken);

    /// <summary>Changes a running generator's rate (the request's rate oneof set: period, mean_rate or burst_period); from a packet index on.</summary>
    public Task<UpdateGeneratorResponse> UpdateGeneratorAsync(UpdateGeneratorRequest request, CancellationToken cancellationToken = default) =>
        CallAsync(async options => await Generators.UpdateGeneratorAsync(request, options).ConfigureAwait(false), cancellationToken);

    /// <summary>Stops a generator by its name "channels/{channel}/generators/{id}".</summary>
    public Task<Generator> StopGeneratorAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Generators.StopGeneratorAsync(new StopGeneratorRequest { Name = name }, options).ConfigureAwait(false)).Generator, cancellationToken);

    /// <summary>Starts a capture of a receiving channel into <paramref name="fileName"/> in the daemon's capture directory.</summary>
    public Task<Capture> StartCaptureAsync(string channel, string fileName, CaptureMode mode = CaptureMode.Tee, bool overwrite = false, long maxPackets = 0, string captureId = "", CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Captures.StartCaptureAsync(new StartCaptureRequest
        {
            Parent = ChannelName.Of(channel), CaptureId = captureId, FileName = fileName, Mode = mode, Overwrite = overwrite, MaxPackets = maxPackets,
        }, options).ConfigureAwait(false)).Capture, cancellationToken);

    /// <summary>The captures of <paramref name="channel"/>, or of every channel when null.</summary>
    public Task<IReadOnlyList<Capture>> ListCapturesAsync(string? channel = null, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyList<Capture>>(async options =>
            (await Captures.ListCapturesAsync(new ListCapturesRequest { Parent = channel is null ? "" : ChannelName.Of(channel) }, options).ConfigureAwait(false)).Captures, cancellationToken);

    /// <summary>Stops a capture by its name "channels/{channel}/captures/{id}": what is queued is written, the file closed.</summary>
    public Task<Capture> StopCaptureAsync(string name, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Captures.StopCaptureAsync(new StopCaptureRequest { Name = name }, options).ConfigureAwait(false)).Capture, cancellationToken);
}
