using System.Text;
using Grpc.Core;
using RtUdp.Client;

namespace RtUdp.Ctl.Cli;

/// <summary>Error messages that say what happened and what to do next.</summary>
internal static class Advice
{
    public static string Unreachable(DaemonUnreachableException e)
    {
        if (e.Address.IsUnixSocket)
        {
            string hint = e.Address.SocketPath == DaemonAddress.SystemSocket
                ? "is the service running? (systemctl status rtudp)"
                : "is rtudpd running? (systemctl status rtudp, or start rtudpd)";
            return $"cannot reach rtudpd at {e.Address}: {e.ReasonText}; {hint}. Another daemon: --socket PATH, $RTUDP_SOCKET, or --address URL.";
        }
        return $"cannot reach rtudpd at {e.Address}: {e.ReasonText}; is rtudpd listening there (Listen:Tcp in /etc/rtudp/rtudp.json)"
            + (e.Address.IsTls ? " and does its certificate chain to --ca?" : "?");
    }

    public static string Refused(RtUdpException e)
    {
        var text = new StringBuilder();
        text.Append(e.StatusCode switch
        {
            StatusCode.NotFound => "not found: ",
            StatusCode.InvalidArgument => "invalid: ",
            StatusCode.AlreadyExists => "already exists: ",
            StatusCode.FailedPrecondition => "refused: ",
            StatusCode.ResourceExhausted => "no room: ",
            StatusCode.Unavailable => "unavailable: ",
            StatusCode.DeadlineExceeded => "timed out: ",
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => "not allowed: ",
            _ => $"{e.StatusCode}: ",
        });
        text.Append(e.Detail.Length > 0 ? e.Detail : e.Message);
        foreach (RtUdpException.FieldViolation v in e.FieldViolations.Where(v => !e.Detail.Contains($"{v.Field}: {v.Description}", StringComparison.Ordinal)))
        {
            text.Append($"\n  {v.Field}: {v.Description}");
        }
        string hint = e.StatusCode switch
        {
            StatusCode.NotFound => "list the channels with: rtudpctl channels ls",
            StatusCode.Unavailable => "the engine is starting or restarting: retry shortly (rtudpctl health; journalctl -u rtudp)",
            StatusCode.ResourceExhausted when e.RetryDelay is { } d => $"retry after {d.TotalMilliseconds:0.###} ms",
            _ => "",
        };
        if (hint.Length > 0)
        {
            text.Append($"\n({hint})");
        }
        text.Append($" [{e.StatusCode}]");
        return text.ToString();
    }
}
