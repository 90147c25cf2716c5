using System.Reflection;
using Microsoft.Extensions.Logging;

namespace RtUdp.Daemon.Tests.Hosting;

/// <summary>
/// rtudpd's log events are looked up by id (docs, journal filters, alerts): each id names one message. Two
/// [LoggerMessage] declarations with one id went unnoticed once (113: the drain at stop and a loss line).
/// </summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void Every_log_event_id_of_rtudpd_names_one_message()
    {
        Assembly daemon = typeof(RtUdp.Daemon.Shm.ShmBroker).Assembly;
        var events = daemon.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .Select(e => (Id: e.Attribute!.EventId, Where: $"{e.Method.DeclaringType!.FullName}.{e.Method.Name}"))
            .ToList();
        Assert.True(events.Count > 50, $"only {events.Count} [LoggerMessage] declarations found: the scan is broken");
        string[] clashes = [.. events.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Where))}")];
        Assert.True(clashes.Length == 0, "event ids used twice:\n" + string.Join('\n', clashes));
    }
}
