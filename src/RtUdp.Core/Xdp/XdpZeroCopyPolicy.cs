namespace RtUdp.Core.Xdp;

/// <summary>Whether an AF_XDP socket binds in zero-copy mode (the NIC DMAs straight from and into the UMEM) or copy mode.</summary>
public enum XdpZeroCopyPolicy
{
    /// <summary>Zero-copy when the driver supports it, else copy mode; <see cref="XskSocket.ZeroCopy"/> says which one was had.</summary>
    Auto,

    /// <summary>Zero-copy or nothing: binding fails, saying so, on a device whose driver cannot.</summary>
    Required,

    /// <summary>Copy mode always (it works on every device, through generic XDP where the driver has no native XDP).</summary>
    Copy,
}
