namespace RtUdp.Core.Launching;

/// <summary>
/// The line protocol between rtudpd and the engine launcher over a connected unix stream socket.
/// One message per line, fields separated by tabs (so arguments may hold spaces but no tab or newline).
/// <list type="bullet">
/// <item>launcher to daemon: <c>ready PID CAPEFF</c> once at start; <c>started PID</c> or <c>failed REASON</c>
/// after each start; <c>log LINE</c> for each line the engine writes; <c>exited PID CODE</c> after the
/// engine's last log line.</item>
/// <item>daemon to launcher: <c>start ARG...</c> (the engine's arguments); <c>signal SIGNO</c> to the
/// running engine.</item>
/// </list>
/// The daemon closing its end makes the launcher stop the engine and exit; the launcher exiting
/// is seen by the daemon as end of stream.
/// </summary>
public static class LauncherProtocol
{
    public const string Ready = "ready";
    public const string Start = "start";
    public const string Started = "started";
    public const string Failed = "failed";
    public const string Log = "log";
    public const string Exited = "exited";
    public const string Signal = "signal";

    public const char Separator = '\t';

    public static string Format(string verb, IEnumerable<string> fields)
    {
        var parts = new List<string> { verb };
        foreach (string field in fields)
        {
            if (field.Contains(Separator, StringComparison.Ordinal) || field.Contains('\n', StringComparison.Ordinal) || field.Contains('\r', StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{field}' holds a tab or a line break, which the launcher protocol cannot carry.", nameof(fields));
            }
            parts.Add(field);
        }
        return string.Join(Separator, parts);
    }

    public static string Format(string verb, params string[] fields) => Format(verb, (IEnumerable<string>)fields);

    /// <summary>A log line as a message.</summary>
    public static string FormatLog(string line) => FormatText(Log, line);

    /// <summary>Free text (a log line, a reason) as the message's one field: its tabs and control characters become spaces rather than break the framing.</summary>
    public static string FormatText(string verb, string text) => verb + Separator + string.Create(text.Length, text, static (span, source) =>
    {
        for (int i = 0; i < source.Length; i++)
        {
            span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        }
    });

    public static (string Verb, string[] Fields) Parse(string line)
    {
        string[] parts = line.Split(Separator);
        return (parts[0], parts[1..]);
    }
}
