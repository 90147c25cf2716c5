using RtUdp.Daemon.Api;

namespace RtUdp.Daemon.Generators;

/// <summary>Names of a channel's sub-resources: "channels/{channel_id}/{collection}/{id}".</summary>
public static class ChildResourceName
{
    public static string Format(string channelId, string collection, string id) => $"{ChannelRegistry.Prefix}{channelId}/{collection}/{id}";

    /// <summary>The channel and child ids, or null when <paramref name="name"/> has another form.</summary>
    public static (string ChannelId, string Id)? Parse(string name, string collection)
    {
        if (name is null || !name.StartsWith(ChannelRegistry.Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        string[] parts = name[ChannelRegistry.Prefix.Length..].Split('/');
        return parts.Length == 3 && parts[0].Length > 0 && parts[1] == collection && IsValidId(parts[2]) ? (parts[0], parts[2]) : null;
    }

    /// <summary>1-63 of [a-z0-9-], starting with a letter.</summary>
    public static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 63 && char.IsAsciiLetterLower(id[0]) && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');
}
