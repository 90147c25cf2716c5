using System.Diagnostics;

namespace RtUdp.Daemon.Tests.Capture;

/// <summary>Runs Debian's tshark on a capture file and returns one row of fields per packet.</summary>
public static class Tshark
{
    public static async Task<List<string[]>> FieldsAsync(string file, params string[] fields)
    {
        var info = new ProcessStartInfo(RtUdp.Testing.Tool.Require("tshark", "tshark"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-n", "-r", file, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=|" })
        {
            info.ArgumentList.Add(a);
        }
        foreach (string f in fields)
        {
            info.ArgumentList.Add("-e");
            info.ArgumentList.Add(f);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("tshark did not start");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"tshark failed ({process.ExitCode}): {await errors}");
        return [.. (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|'))];
    }

    /// <summary>"1764100000.123456789" (frame.time_epoch of a ns-resolution file) as ns.</summary>
    public static long EpochNs(string text)
    {
        string[] parts = text.Split('.');
        return (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1_000_000_000)
            + long.Parse(parts[1].PadRight(9, '0')[..9], System.Globalization.CultureInfo.InvariantCulture);
    }
}
