using System.Net.Sockets;
using Microsoft.Extensions.Hosting.Systemd;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// The daemon's sd_notify(3) messages (READY=1 once, STATUS=, WATCHDOG=1, STOPPING=1) and the watchdog
/// interval systemd asked for. The datagrams go out through Microsoft.Extensions.Hosting.Systemd's
/// <see cref="ISystemdNotifier"/>; when to send them is decided by the supervisor and <see cref="SystemdService"/>
/// (not AddSystemd(), whose lifetime says READY=1 as soon as the host starts, before the engine is up).
/// </summary>
public sealed partial class SystemdNotifier
{
    private readonly ISystemdNotifier? _transport;
    private readonly ILogger<SystemdNotifier> _logger;
    private readonly Lock _lock = new();
    private int _readySent;
    private bool _failureLogged;

    /// <param name="transport">Created before this (it reads $NOTIFY_SOCKET when constructed, and this clears it).</param>
    public SystemdNotifier(ISystemdNotifier transport, ILogger<SystemdNotifier> logger)
        : this(transport, logger, Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"))
    {
    }

    internal SystemdNotifier(ISystemdNotifier transport, ILogger<SystemdNotifier> logger, string? notifySocket, string? watchdogUsec, string? watchdogPid)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _logger = logger;
        if (transport.IsEnabled && !string.IsNullOrEmpty(notifySocket))
        {
            // The transport takes any value as a path; a vsock address ("vsock:...") is not one.
            if (notifySocket[0] is '/' or '@')
            {
                _transport = transport;
            }
            else
            {
                Log.NotifySocketUnsupported(logger, notifySocket);
            }
        }
        // WATCHDOG_PID names the process the watchdog is meant for; another process (a parent shell) is not us.
        bool forUs = string.IsNullOrEmpty(watchdogPid) || (int.TryParse(watchdogPid, out int pid) && pid == Environment.ProcessId);
        if (_transport is not null && forUs && long.TryParse(watchdogUsec, out long usec) && usec > 0)
        {
            WatchdogTimeout = TimeSpan.FromTicks(usec * 10);
            WatchdogInterval = WatchdogTimeout / 2;
        }
        // The engine is our child: it must not think systemd talks to it.
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        Environment.SetEnvironmentVariable("WATCHDOG_PID", null);
    }

    /// <summary>True when $NOTIFY_SOCKET was set (to a unix socket).</summary>
    public bool Enabled => _transport is not null;

    /// <summary>Half of $WATCHDOG_USEC (null: no watchdog asked for), as sd_watchdog_enabled(3) advises.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>$WATCHDOG_USEC: how long systemd waits for WATCHDOG=1 before it acts (null: no watchdog asked for).</summary>
    public TimeSpan? WatchdogTimeout { get; }

    public bool ReadySent => Volatile.Read(ref _readySent) != 0;

    /// <summary>READY=1 (once) with a status line.</summary>
    public void Ready(string status)
    {
        if (Interlocked.Exchange(ref _readySent, 1) == 0)
        {
            Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}");
        }
    }

    public void Status(string status) => Send($"STATUS={status}");

    public void Watchdog() => Send("WATCHDOG=1");

    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={status}");

    public void Send(string state)
    {
        if (_transport is null)
        {
            return;
        }
        // One sender at a time, so a failure is logged once until a send succeeds again.
        lock (_lock)
        {
            try
            {
                _transport.Notify(new ServiceState(state));
                _failureLogged = false;
            }
            catch (Exception e) when (e is SocketException or ArgumentException)
            {
                // ArgumentException: a socket path longer than sockaddr_un holds.
                if (!_failureLogged)
                {
                    _failureLogged = true;
                    Log.NotifyFailed(_logger, e, e is SocketException s ? s.SocketErrorCode.ToString() : e.Message);
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "NOTIFY_SOCKET '{NotifySocket}' is not a unix socket path or abstract name; systemd notifications are off")]
        public static partial void NotifySocketUnsupported(ILogger logger, string notifySocket);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "sd_notify failed ({Error}); systemd may consider the service hung")]
        public static partial void NotifyFailed(ILogger logger, Exception exception, string error);
    }
}
