using Serilog;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace RtUdp.Daemon.Hosting;

/// <summary>Serilog set-up: plain text or compact JSON on stdout, with syslog priority prefixes for journald.</summary>
internal static class LogFormatting
{
    public static void Configure(LoggerConfiguration configuration, LogOptions options)
    {
        LogEventLevel level = Enum.Parse<LogEventLevel>(options.Level, ignoreCase: true);
        bool prefix = options.SyslogPrefix switch
        {
            "true" => true,
            "false" => false,
            _ => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")),
        };
        ITextFormatter inner = options.Format == "json"
            ? new CompactJsonFormatter()
            : new MessageTemplateTextFormatter(prefix
                ? "{SourceContext}: {Message:lj}{NewLine}{Exception}" // journald stamps the time itself
                : "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
        configuration
            .MinimumLevel.Is(level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", LogEventLevel.Information)
            .MinimumLevel.Override("Microsoft.AspNetCore.Server.Kestrel", LogEventLevel.Information)
            .Enrich.FromLogContext()
            .WriteTo.Console(prefix ? new SyslogPrefixFormatter(inner) : inner);
    }

    /// <summary>"&lt;N&gt;" before each event: journald (SyslogLevelPrefix=yes) takes it as the priority.</summary>
    private sealed class SyslogPrefixFormatter(ITextFormatter inner) : ITextFormatter
    {
        public void Format(LogEvent logEvent, TextWriter output)
        {
            int priority = logEvent.Level switch
            {
                LogEventLevel.Fatal => 2,
                LogEventLevel.Error => 3,
                LogEventLevel.Warning => 4,
                LogEventLevel.Information => 6,
                _ => 7,
            };
            output.Write('<');
            output.Write(priority);
            output.Write('>');
            inner.Format(logEvent, output);
        }
    }

    /// <summary>
    /// One JSON object per line in the Serilog compact format (@t, @mt, @l, @x, @i and the properties),
    /// plus @m, the rendered message, for readers that do not render templates.
    /// </summary>
    private sealed class CompactJsonFormatter : ITextFormatter
    {
        private static readonly JsonValueFormatter Values = new(typeTagName: "$type");

        public void Format(LogEvent logEvent, TextWriter output)
        {
            output.Write("{\"@t\":\"");
            output.Write(logEvent.Timestamp.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            output.Write("\",\"@mt\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.MessageTemplate.Text, output);
            output.Write(",\"@m\":");
            JsonValueFormatter.WriteQuotedJsonString(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture), output);
            if (logEvent.Level != LogEventLevel.Information)
            {
                output.Write(",\"@l\":\"");
                output.Write(logEvent.Level);
                output.Write('"');
            }
            if (logEvent.Exception is not null)
            {
                output.Write(",\"@x\":");
                JsonValueFormatter.WriteQuotedJsonString(logEvent.Exception.ToString(), output);
            }
            foreach ((string name, LogEventPropertyValue value) in logEvent.Properties)
            {
                string key = name.Length > 0 && name[0] == '@' ? "@" + name : name;
                output.Write(',');
                JsonValueFormatter.WriteQuotedJsonString(key, output);
                output.Write(':');
                Values.Format(value, output);
            }
            output.Write('}');
            output.WriteLine();
        }
    }
}
