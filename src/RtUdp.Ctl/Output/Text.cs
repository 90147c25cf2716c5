using System.Globalization;
using System.Text;
using RtUdp.V1;

namespace RtUdp.Ctl.Output;

/// <summary>How values read in a terminal: times with units, enums in kebab-case, endpoints as ADDR:PORT.</summary>
internal static class Text
{
    public static string Cell(object? value) => value switch
    {
        null => "-",
        string s => s.Length == 0 ? "-" : s,
        Endpoint e => Endpoint(e),
        Enum e => Name(e),
        bool b => b ? "yes" : "no",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static bool LooksNumeric(string cell) =>
        cell == "-" || double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    public static string Endpoint(Endpoint? e) =>
        e is null || e.Address.Length == 0 ? "-" : e.Address.Contains(':', StringComparison.Ordinal) ? $"[{e.Address}]:{e.Port}" : $"{e.Address}:{e.Port}";

    /// <summary>ChannelState.Running → "running", LatePolicy.SendLate → "send-late", Unspecified → "-".</summary>
    public static string Name(Enum value)
    {
        string name = value.ToString();
        if (name == "Unspecified")
        {
            return "-";
        }
        var text = new StringBuilder();
        foreach (char c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append('-');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    /// <summary>ns with a unit that keeps 3 significant digits: "850 ns", "12.3 µs", "1.50 ms", "2.00 s".</summary>
    public static string Ns(double ns)
    {
        double magnitude = Math.Abs(ns);
        (double scale, string unit) = magnitude switch
        {
            < 1e3 => (1.0, "ns"),
            < 1e6 => (1e3, "µs"),
            < 1e9 => (1e6, "ms"),
            _ => (1e9, "s"),
        };
        double v = ns / scale;
        string format = scale == 1.0 ? "0" : Math.Abs(v) < 10 ? "0.00" : Math.Abs(v) < 100 ? "0.0" : "0";
        return v.ToString(format, CultureInfo.InvariantCulture) + " " + unit;
    }

    /// <summary>A payload as text: printable ASCII as is, \n \r \t escaped, other bytes as \xNN.</summary>
    public static string Payload(ReadOnlySpan<byte> payload)
    {
        var text = new StringBuilder(payload.Length);
        foreach (byte b in payload)
        {
            _ = b switch
            {
                (byte)'\n' => text.Append("\\n"),
                (byte)'\r' => text.Append("\\r"),
                (byte)'\t' => text.Append("\\t"),
                (byte)'\\' => text.Append("\\\\"),
                >= 0x20 and < 0x7f => text.Append((char)b),
                _ => text.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"),
            };
        }
        return text.ToString();
    }

    /// <summary>Offset, 16 hex bytes, and their printable ASCII: the hexdump -C layout.</summary>
    public static string HexDump(ReadOnlySpan<byte> data)
    {
        var text = new StringBuilder();
        for (int offset = 0; offset < data.Length; offset += 16)
        {
            ReadOnlySpan<byte> line = data.Slice(offset, Math.Min(16, data.Length - offset));
            text.Append(CultureInfo.InvariantCulture, $"{offset:x8}  ");
            for (int i = 0; i < 16; i++)
            {
                text.Append(i < line.Length ? line[i].ToString("x2", CultureInfo.InvariantCulture) + " " : "   ");
                if (i == 7)
                {
                    text.Append(' ');
                }
            }
            text.Append(" |");
            foreach (byte b in line)
            {
                text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
            }
            text.Append("|\n");
        }
        return text.ToString();
    }
}
