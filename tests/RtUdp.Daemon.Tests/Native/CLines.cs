using System.Globalization;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>Reads what the test programs of tests/c print: "TAG key=value ..." and "TAG v1 v2 ..." lines.</summary>
internal static class CLines
{
    /// <summary>The key=value pairs of the first line starting with <paramref name="tag"/> and a space.</summary>
    public static Dictionary<string, long> Values(IEnumerable<string> lines, string tag)
    {
        string line = lines.FirstOrDefault(l => l.StartsWith(tag + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no '{tag}' line in:\n{string.Join('\n', lines)}");
        return line[(tag.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
    }

    /// <summary>The words after the tag of the first line starting with <paramref name="tag"/> and a space.</summary>
    public static string[] Words(IEnumerable<string> lines, string tag)
    {
        string line = lines.FirstOrDefault(l => l.StartsWith(tag + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no '{tag}' line in:\n{string.Join('\n', lines)}");
        return line[(tag.Length + 1)..].Split(' ');
    }

    public static string[] Lines(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
