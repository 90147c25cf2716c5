using System.Net.Sockets;
using System.Text;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// sd_notify(3) without libsystemd: one datagram per message to the unix socket in $NOTIFY_SOCKET
/// (a path, or an abstract name written with a leading '@'). Does nothing when the variable is unset.
/// </summary>
public sealed partial class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _target;
    private readonly ILogger<SystemdNotifier> _logger;
    private readonly Lock _lock = new();
    private int _readySent;
    private bool _failureLogged;

    public SystemdNotifier(ILogger<SystemdNotifier> logger)
        : this(logger, Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"))
    {
    }

    internal SystemdNotifier(ILogger<SystemdNotifier> logger, string? notifySocket, string? watchdogUsec, string? watchdogPid)
    {
        _logger = logger;
        if (!string.IsNullOrEmpty(notifySocket))
        {
            if (notifySocket[0] is '/' or '@')
            {
                _target = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
                _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            }
            else
            {
                Log.NotifySocketUnsupported(logger, notifySocket);
            }
        }
        // WATCHDOG_PID names the process the watchdog is meant for; another process (a parent shell) is not us.
        bool forUs = string.IsNullOrEmpty(watchdogPid) || (int.TryParse(watchdogPid, out int pid) && pid == Environment.ProcessId);
        if (_socket is not null && forUs && long.TryParse(watchdogUsec, out long usec) && usec > 0)
        {
            WatchdogInterval = TimeSpan.FromTicks(usec * 10 / 2);
        }
        // The engine is our child: it must not think systemd talks to it.
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", null);
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        Environment.SetEnvironmentVariable("WATCHDOG_PID", null);
    }

    /// <summary>True when $NOTIFY_SOCKET was set.</summary>
    public bool Enabled => _socket is not null;

    /// <summary>Half of $WATCHDOG_USEC (null: no watchdog asked for), as sd_watchdog_enabled(3) advises.</summary>
    public TimeSpan? WatchdogInterval { get; }

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
        if (_socket is null || _target is null)
        {
            return;
        }
        byte[] bytes = Encoding.UTF8.GetBytes(state);
        lock (_lock)
        {
            try
            {
                _socket.SendTo(bytes, SocketFlags.None, _target);
                _failureLogged = false;
            }
            catch (SocketException e)
            {
                if (!_failureLogged)
                {
                    _failureLogged = true;
                    Log.NotifyFailed(_logger, e, e.SocketErrorCode.ToString());
                }
            }
            catch (ObjectDisposedException)
            {
                // Shutting down.
            }
        }
    }

    public void Dispose() => _socket?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "NOTIFY_SOCKET '{NotifySocket}' is not a unix socket path or abstract name; systemd notifications are off")]
        public static partial void NotifySocketUnsupported(ILogger logger, string notifySocket);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "sd_notify failed ({Error}); systemd may consider the service hung")]
        public static partial void NotifyFailed(ILogger logger, Exception exception, string error);
    }
}
