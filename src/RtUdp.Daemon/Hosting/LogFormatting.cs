using Serilog;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Compact;
using Serilog.Formatting.Display;

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
}
