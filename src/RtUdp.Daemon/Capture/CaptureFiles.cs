namespace RtUdp.Daemon.Capture;

/// <summary>
/// File names in the capture directory. A client names a file, never a path: 1-128 of [A-Za-z0-9._-],
/// not starting with '.', so it cannot leave the directory; the resolved path is checked again.
/// </summary>
public static class CaptureFiles
{
    public const int MaxName = 128;

    /// <summary>Why <paramref name="name"/> is not a valid file name, or null.</summary>
    public static string? Problem(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "required: a file name in the capture directory";
        }
        if (name.Length > MaxName)
        {
            return $"longer than {MaxName} characters";
        }
        if (name[0] == '.')
        {
            return "must not start with '.'";
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return $"'{c}' is not allowed: a plain file name of [A-Za-z0-9._-] (no directories)";
            }
        }
        return null;
    }

    /// <summary>The full path of a valid name in <paramref name="directory"/>.</summary>
    public static string Resolve(string directory, string name)
    {
        string root = Path.GetFullPath(directory);
        string path = Path.GetFullPath(Path.Combine(root, name));
        if (!string.Equals(Path.GetDirectoryName(path), root.TrimEnd('/'), StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' resolves outside the capture directory", nameof(name));
        }
        return path;
    }
}
