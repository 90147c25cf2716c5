namespace RtUdp.Daemon.Capture;

/// <summary>Configuration section "Capture": where captures are written (and replayed files read).</summary>
public sealed class CaptureOptions
{
    /// <summary>The directory of capture files (absolute; created when missing); empty: captures and replays are disabled.</summary>
    public string Directory { get; set; } = "/var/lib/rtudp/captures";

    /// <summary>Packets a capture's writer may fall behind by before it drops (and counts) them.</summary>
    public int QueueCapacity { get; set; } = 65536;

    /// <summary>Largest file a generator may replay, in MiB (it is read into memory).</summary>
    public int MaxReplayMiB { get; set; } = 256;

    public bool Enabled => Directory.Length > 0;

    /// <summary>The problems of these settings, naming their keys.</summary>
    public IEnumerable<string> Validate()
    {
        if (Directory.Length > 0 && !Path.IsPathFullyQualified(Directory))
        {
            yield return $"Capture:Directory: '{Directory}' is not an absolute path";
        }
        if (QueueCapacity is < 16 or > 16_777_216)
        {
            yield return $"Capture:QueueCapacity: {QueueCapacity} must be 16 to 16777216";
        }
        if (MaxReplayMiB is < 1 or > 4096)
        {
            yield return $"Capture:MaxReplayMiB: {MaxReplayMiB} must be 1 to 4096";
        }
    }
}
