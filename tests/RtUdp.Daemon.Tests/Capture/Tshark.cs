namespace RtUdp.Daemon.Tests.Capture;

/// <summary>Runs Debian's tshark on a capture file and returns one row of fields per packet.</summary>
public static class Tshark
{
    public static async Task<List<string[]>> FieldsAsync(string file, params string[] fields)
    {
        string[] arguments = ["-n", "-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|", .. fields.SelectMany(f => new[] { "-e", f })];
        ProcessResult tshark = await ProcessRunner.RunAsync(Tool.Require("tshark", "tshark"), arguments, TimeSpan.FromSeconds(60));
        Assert.True(tshark.ExitCode == 0, $"tshark failed ({tshark.ExitCode}): {tshark.Stderr}");
        return [.. tshark.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|'))];
    }

    /// <summary>"1764100000.123456789" (frame.time_epoch of a ns-resolution file) as ns.</summary>
    public static long EpochNs(string text)
    {
        string[] parts = text.Split('.');
        return (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000_000)
            + long.Parse(parts[1].PadRight(9, '0')[..9], System.Globalization.CultureInfo.InvariantCulture);
    }
}
