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
}

/// <summary>
/// What the engine actually put in effect for a channel when it started (timestamps, launch time,
/// egress interface) and, in words, why anything asked for was not. In the channel file's header.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct ChannelModeBlock
{
    public const int NameBytes = 16;
    public const int NotesBytes = 960;

    /// <summary><see cref="TimestampMode"/>: Hardware, Software or Off.</summary>
    public int Timestamps;

    /// <summary><see cref="LaunchClock"/>.</summary>
    public int Launch;
    public int PhcIndex;
    public int InterfaceIndex;

    /// <summary>Kernel TAI offset (s) read when the channel started.</summary>
    public int TaiOffsetSeconds;
    public int Reserved;
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
