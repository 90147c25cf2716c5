namespace RtUdp.Core.Native;

/// <summary>&lt;linux/sock_diag.h&gt;: indexes into the u32 array getsockopt(SO_MEMINFO) fills.</summary>
public static partial class Libc
{
    /// <summary>The socket's drop count (sk_drops): the same value /proc/net/udp shows and SO_RXQ_OVFL reports.</summary>
    public const int SK_MEMINFO_DROPS = 8;

    /// <summary>Entries in the array (the kernel copies at most the length asked for).</summary>
    public const int SK_MEMINFO_VARS = 9;
}
