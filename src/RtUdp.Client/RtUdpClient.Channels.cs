using RtUdp.V1;

namespace RtUdp.Client;

public sealed partial class RtUdpClient
{
    /// <summary>Creates (binds) a channel; <paramref name="start"/>: its workers run at once. Returns it with the bound port.</summary>
    public Task<Channel> CreateChannelAsync(string id, Channel config, bool start = true, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Channels.CreateChannelAsync(new CreateChannelRequest { ChannelId = ChannelName.IdOf(id), Channel = config, Start = start }, options).ConfigureAwait(false)).Channel, cancellationToken);

    /// <summary>A receiving channel bound to <paramref name="local"/> (port 0: the kernel's choice, see Channel.BoundLocal).</summary>
    public Task<Channel> CreateReceiverAsync(string id, Endpoint local, Action<Channel>? configure = null, bool start = true, CancellationToken cancellationToken = default)
    {
        var config = new Channel { Direction = ChannelDirection.Receive, Local = local };
        configure?.Invoke(config);
        return CreateChannelAsync(id, config, start, cancellationToken);
    }

    /// <summary>A sending channel to <paramref name="remote"/>, bound to <paramref name="local"/> (null: 127.0.0.1:0).</summary>
    public Task<Channel> CreateSenderAsync(string id, Endpoint remote, Endpoint? local = null, Action<Channel>? configure = null, bool start = true, CancellationToken cancellationToken = default)
    {
        var config = new Channel { Direction = ChannelDirection.Send, Remote = remote, Local = local ?? new Endpoint { Address = "127.0.0.1", Port = 0 } };
        configure?.Invoke(config);
        return CreateChannelAsync(id, config, start, cancellationToken);
    }

    public Task<Channel> GetChannelAsync(string idOrName, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Channels.GetChannelAsync(new GetChannelRequest { Name = ChannelName.Of(idOrName) }, options).ConfigureAwait(false)).Channel, cancellationToken);

    /// <summary>Every channel, in name order (all pages).</summary>
    public async Task<IReadOnlyList<Channel>> ListChannelsAsync(CancellationToken cancellationToken = default)
    {
        var all = new List<Channel>();
        string token = "";
        do
        {
            string page = token;
            ListChannelsResponse response = await CallAsync(options => Channels.ListChannelsAsync(new ListChannelsRequest { PageToken = page }, options).ResponseAsync, cancellationToken).ConfigureAwait(false);
            all.AddRange(response.Channels);
            token = response.NextPageToken;
        }
        while (token.Length > 0);
        return all;
    }

    public Task<Channel> StartChannelAsync(string idOrName, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Channels.StartChannelAsync(new StartChannelRequest { Name = ChannelName.Of(idOrName) }, options).ConfigureAwait(false)).Channel, cancellationToken);

    public Task<Channel> StopChannelAsync(string idOrName, CancellationToken cancellationToken = default) =>
        CallAsync(async options => (await Channels.StopChannelAsync(new StopChannelRequest { Name = ChannelName.Of(idOrName) }, options).ConfigureAwait(false)).Channel, cancellationToken);

    /// <summary>Stops and closes a channel; returns its final counters (what was still queued is in dropped_stopped).</summary>
    public Task<IReadOnlyDictionary<string, long>> DeleteChannelAsync(string idOrName, CancellationToken cancellationToken = default) =>
        CallAsync<IReadOnlyDictionary<string, long>>(async options =>
            new Dictionary<string, long>((await Channels.DeleteChannelAsync(new DeleteChannelRequest { Name = ChannelName.Of(idOrName) }, options).ConfigureAwait(false)).FinalCounters), cancellationToken);
}
