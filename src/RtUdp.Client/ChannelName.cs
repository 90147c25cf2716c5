namespace RtUdp.Client;

/// <summary>Channel resource names: "channels/{channel_id}".</summary>
public static class ChannelName
{
    public const string Prefix = "channels/";

    /// <summary>"tx" or "channels/tx" → "channels/tx".</summary>
    public static string Of(string idOrName)
    {
        ArgumentException.ThrowIfNullOrEmpty(idOrName);
        return idOrName.StartsWith(Prefix, StringComparison.Ordinal) ? idOrName : Prefix + idOrName;
    }

    /// <summary>"channels/tx" → "tx".</summary>
    public static string IdOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
    }
}
