using System.Globalization;

namespace RtUdp.Core.Flows;

/// <summary>
/// This host's boot, as 32 bits: the first 8 hex digits of /proc/sys/kernel/random/boot_id.
/// CLOCK_MONOTONIC counts from boot, so two monotonic times compare only when their origins match.
/// </summary>
public static class HostOrigin
{
    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";

    private static readonly Lazy<uint> Value = new(Read);

    /// <summary>Read once (the first call reads a file: call it outside the real-time loop).</summary>
    public static uint Current => Value.Value;

    private static uint Read()
    {
        string bootId = File.ReadAllText(BootIdPath).Trim();
        if (bootId.Length < 8 || !uint.TryParse(bootId.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint origin))
        {
            throw new InvalidDataException($"{BootIdPath} holds '{bootId}', not a UUID");
        }
        return origin;
    }
}
