using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Memory;

namespace RtUdp.Core.Contract.Channels;

/// <summary>The clock the kernel's launch-time qdisc schedules in.</summary>
public enum LaunchClock
{
    /// <summary>Launch time not in effect: user-space timing.</summary>
    None = 0,

    /// <summary>etf or taprio: CLOCK_TAI.</summary>
    Tai = 1,

    /// <summary>fq: CLOCK_MONOTONIC as earliest departure time.</summary>
    Monotonic = 2,

    /// <summary>An xdp channel's device: launch times in its PTP hardware clock, through AF_XDP TX metadata.</summary>
    Phc = 3,
}

/// <summary>Whether a channel's packets leave in UDP GSO trains.</summary>
public enum GsoState
{
    /// <summary>One datagram per packet: GSO was off, not asked, not possible at start, or the channel does not send.</summary>
    Off = 0,

    /// <summary>Packets due together leave as trains.</summary>
    Trains = 1,

    /// <summary>The kernel refused a train while running (<see cref="ChannelModeBlock.GsoErrno"/>): sendmmsg since, every packet of it resent.</summary>
    FellBack = 2,
}

/// <summary>How the receive worker waits for datagrams, in effect.</summary>
public enum ReceiveWait
{
    /// <summary>poll(2).</summary>
    Poll = 0,

    /// <summary>Busy-poll by reading the socket without sleeping (the device has no NAPI to poll: loopback, veth without GRO).</summary>
    Spin = 1,

    /// <summary>Busy-poll with SO_BUSY_POLL / SO_PREFER_BUSY_POLL: each read also polls the device's receive queue.</summary>
    KernelBusyPoll = 2,
}

/// <summary>
/// What the engine actually put in effect for a channel when it started (timestamps, launch time,
/// egress interface) and, in words, why anything asked for was not. In the channel file's header.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ChannelModeBlock
{
    public const int NameBytes = 16;
    public const int NotesBytes = 896;
    public const int MacBytes = 8;

    /// <summary><see cref="TimestampMode"/>: Hardware, Software or Off.</summary>
    public int Timestamps;

    /// <summary><see cref="LaunchClock"/>.</summary>
    public int Launch;
    public int PhcIndex;
    public int InterfaceIndex;

    /// <summary>Kernel TAI offset (s) read when the channel started.</summary>
    public int TaiOffsetSeconds;

    /// <summary><see cref="GsoState"/>; the send worker writes <see cref="GsoState.FellBack"/> while running.</summary>
    public int Gso;

    /// <summary>The errno of the train the kernel refused, with <see cref="GsoState.FellBack"/>.</summary>
    public int GsoErrno;

    /// <summary>Most packets in one train (the batch size, within the kernel's UDP_MAX_SEGMENTS and 64 KiB); 0 without trains.</summary>
    public int GsoMaxSegments;

    /// <summary>1 when the receiving socket has UDP_GRO.</summary>
    public int Gro;

    /// <summary><see cref="ReceiveWait"/>.</summary>
    public int ReceiveWait;

    /// <summary>1 for a bulk (throughput-mode) channel.</summary>
    public int Bulk;

    /// <summary><see cref="Channels.DataPath"/>.</summary>
    public int DataPath;

    /// <summary>xdp: the interface queue owned.</summary>
    public int XdpQueue;

    /// <summary>xdp: 1 with XDP_ZEROCOPY in effect, 0 in copy mode.</summary>
    public int XdpZeroCopy;

    /// <summary>xdp: <see cref="XdpAttachMode"/> of the steering program (None: send-only, no program).</summary>
    public int XdpAttach;

    /// <summary>xdp: <see cref="XdpDeviceFeatureBits"/> the device offers.</summary>
    public int XdpDeviceFeatures;

    /// <summary>xdp: <see cref="XdpTxMetadataBits"/> in effect.</summary>
    public int XdpTxMetadata;

    /// <summary>xdp: the next hop's MAC (6 bytes, zero padded).</summary>
    public fixed byte NextHopMac[MacBytes];
    public fixed byte Interface[NameBytes];
    public fixed byte Qdisc[NameBytes];
    public fixed byte Notes[NotesBytes];

    public void SetText(string interfaceName, string qdisc, string notes)
    {
        fixed (byte* i = Interface)
        {
            FixedText.Write(interfaceName, i, NameBytes);
        }
        fixed (byte* q = Qdisc)
        {
            FixedText.Write(qdisc, q, NameBytes);
        }
        fixed (byte* n = Notes)
        {
            FixedText.Write(notes, n, NotesBytes);
        }
    }

    public string InterfaceName
    {
        get
        {
            fixed (byte* i = Interface)
            {
                return FixedText.Read(i, NameBytes);
            }
        }
    }

    public string QdiscKind
    {
        get
        {
            fixed (byte* q = Qdisc)
            {
                return FixedText.Read(q, NameBytes);
            }
        }
    }

    public void SetNextHopMac(ReadOnlySpan<byte> mac)
    {
        fixed (byte* m = NextHopMac)
        {
            mac[..Math.Min(mac.Length, MacBytes)].CopyTo(new Span<byte>(m, MacBytes));
        }
    }

    /// <summary>xdp: the next hop's MAC, aa:bb:cc:dd:ee:ff.</summary>
    public string NextHopMacText
    {
        get
        {
            fixed (byte* m = NextHopMac)
            {
                return XdpModeText.Mac(new ReadOnlySpan<byte>(m, MacBytes));
            }
        }
    }

    /// <summary>Why a requested mode is not in effect (fallbacks), or empty.</summary>
    public string NotesText
    {
        get
        {
            fixed (byte* n = Notes)
            {
                return FixedText.Read(n, NotesBytes);
            }
        }
    }
}
