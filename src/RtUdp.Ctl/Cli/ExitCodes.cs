namespace RtUdp.Ctl.Cli;

/// <summary>rtudpctl's exit codes (README "rtudpctl"): scripts branch on them.</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>rtudpd answered with an error status (no such channel, invalid field, ring full, engine down), or health is not SERVING.</summary>
    public const int Refused = 1;

    /// <summary>The command line is wrong (unknown option, bad value, missing argument); nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>rtudpd could not be reached (no socket, connection refused, TLS failed); nothing was done.</summary>
    public const int Unreachable = 3;

    /// <summary>recv: fewer packets than --count arrived before --timeout.</summary>
    public const int Incomplete = 4;

    /// <summary>send --wait: a packet was dropped, or its outcome did not come.</summary>
    public const int NotSent = 5;
}

/// <summary>A usage problem found after parsing (e.g. an unreadable --file): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
