using RtUdp.Core.Contract.Memory;

namespace RtUdp.Daemon.Engine;

/// <summary>The channel files a dead engine left in its directory.</summary>
internal static class StaleChannelFiles
{
    /// <summary>
    /// Unlinks them before the next engine starts, so that its files are new inodes and the mappings
    /// still held of the old ones (their final counters) stay readable.
    /// </summary>
    public static void Remove(string directory)
    {
        foreach (string path in Directory.EnumerateFiles(directory, "channel-*.shm"))
        {
            MappedFile.Delete(path);
        }
    }
}
