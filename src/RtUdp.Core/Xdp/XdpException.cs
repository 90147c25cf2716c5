namespace RtUdp.Core.Xdp;

/// <summary>
/// A libxdp/libbpf call (or the bpffs set-up) failed. Names the call, the interface and the errno, and carries
/// what libxdp/libbpf logged during the call (the verifier's log, "No bpffs found", ...), if anything.
/// </summary>
public sealed class XdpException : Exception
{
    public XdpException(string message)
        : base(message)
    {
        Call = "";
        Interface = "";
    }

    public XdpException(string message, Exception inner)
        : base(message, inner)
    {
        Call = "";
        Interface = "";
    }

    public XdpException()
        : this("xdp operation failed")
    {
    }

    public XdpException(string call, string iface, int errno, string? libraryLog)
        : base(Format(call, iface, errno, libraryLog))
    {
        Call = call;
        Interface = iface;
        Errno = errno;
        LibraryLog = libraryLog;
    }

    /// <summary>The native call, e.g. "xdp_program__attach".</summary>
    public string Call { get; }

    /// <summary>"veth0 (ifindex 3)"; empty when no interface is involved.</summary>
    public string Interface { get; }

    /// <summary>Positive errno; 0 when not from a native call.</summary>
    public int Errno { get; }

    /// <summary>libxdp's and libbpf's messages during the failed call, or null.</summary>
    public string? LibraryLog { get; }

    private static string Format(string call, string iface, int errno, string? log)
    {
        string where = iface.Length > 0 ? $" on {iface}" : "";
        string text = $"{call}{where} failed: {Native.Errno.Describe(errno)}";
        return string.IsNullOrWhiteSpace(log) ? text : $"{text}; libxdp: {log.Trim()}";
    }
}
