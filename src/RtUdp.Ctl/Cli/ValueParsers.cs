using System.Globalization;
using System.Net;
using RtUdp.V1;

namespace RtUdp.Ctl.Cli;

/// <summary>Parses the values operators type: durations ("1ms", "2.5s"), endpoints ("127.0.0.1:9000", "[::1]:9000"), hex, lists.</summary>
internal static class ValueParsers
{
    private static readonly (string Suffix, double Ns)[] Units =
    [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ];

    /// <summary>"250us", "1ms", "1.5s", "2m"; a bare number is seconds.</summary>
    public static bool TryDuration(string text, out TimeSpan value)
    {
        value = default;
        string t = text.Trim();
        double scale = 1e9;
        foreach ((string suffix, double ns) in Units.OrderByDescending(u => u.Suffix.Length))
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal))
            {
                scale = ns;
                t = t[..^suffix.Length];
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) || number < 0 || double.IsInfinity(number))
        {
            return false;
        }
        double totalNs = number * scale;
        if (totalNs > TimeSpan.MaxValue.Ticks * 100.0)
        {
            return false;
        }
        value = TimeSpan.FromTicks((long)Math.Round(totalNs / 100));
        return true;
    }

    /// <summary>ADDR:PORT with a numeric IPv4 address or a bracketed IPv6 one.</summary>
    public static bool TryEndpoint(string text, out Endpoint endpoint)
    {
        endpoint = new Endpoint();
        if (!IPEndPoint.TryParse(text, out IPEndPoint? parsed) || !text.Contains(':', StringComparison.Ordinal)
            || (parsed.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            return false;
        }
        endpoint = new Endpoint { Address = parsed.Address.ToString(), Port = (uint)parsed.Port };
        return true;
    }

    /// <summary>Hex digits, spaces, colons and a 0x prefix allowed: "de ad be ef", "0xdeadbeef", "de:ad".</summary>
    public static byte[] Hex(string text)
    {
        string digits = new(text.Where(c => !char.IsWhiteSpace(c) && c != ':').ToArray());
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }
        try
        {
            return Convert.FromHexString(digits);
        }
        catch (FormatException)
        {
            throw new UsageException($"--hex: '{text}' is not an even number of hex digits");
        }
    }

    /// <summary>"50,99,99.9".</summary>
    public static bool TryPercentiles(string text, out double[] values)
    {
        var list = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || p < 0 || p > 100)
            {
                values = [];
                return false;
            }
            list.Add(p);
        }
        values = [.. list];
        return values.Length > 0;
    }
}
