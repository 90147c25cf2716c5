namespace RtUdp.Core.Xdp;

/// <summary>How the steering program is attached to its interface.</summary>
public enum XdpAttachMode
{
    /// <summary>Native (driver) XDP, falling back to generic (SKB) XDP when the driver or the interface's existing dispatcher refuses it.</summary>
    Auto = 0,

    /// <summary>Native (driver) XDP only (veth, and drivers with XDP support).</summary>
    Native = 1,

    /// <summary>Generic XDP (XDP_MODE_SKB): every driver, after the skb is built; slower, still correct.</summary>
    Generic = 2,
}
