using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Serialization;
using RtUdp.Core.Native;
using RtUdp.Core.Net.Netlink;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Capabilities;

/// <summary>One queueing discipline as RTM_NEWQDISC describes it (a line of <c>tc qdisc show</c>).</summary>
/// <param name="Ifindex">The interface it is attached to.</param>
/// <param name="Kind">TCA_KIND: "etf", "fq", "taprio", "mq", "pfifo_fast", "noqueue", ...</param>
/// <param name="Handle">The qdisc's handle (major in the upper 16 bits).</param>
/// <param name="Parent">TC_H_ROOT, TC_H_INGRESS or the parent class.</param>
/// <param name="ClockId">etf/taprio only: the clock the qdisc schedules against (11 = CLOCK_TAI).</param>
/// <param name="Flags">etf: TC_ETF_* bits; taprio: TCA_TAPRIO_ATTR_FLAG_* bits.</param>
public sealed record QdiscInfo(int Ifindex, string Kind, uint Handle, uint Parent, int? ClockId = null, uint? Flags = null)
{
    /// <summary>The handle as tc prints it: "8001:", "0:".</summary>
    public string HandleId => FormatHandle(Handle);

    /// <summary>The parent as tc prints it: "root", "ingress" (ffff:fff1) or "1:2".</summary>
    public string ParentId => Parent switch
    {
        Libc.TC_H_ROOT => "root",
        Libc.TC_H_INGRESS => "ingress",
        _ => FormatHandle(Parent),
    };

    /// <summary>taprio running in txtime-assist mode, which stamps packets for an etf child.</summary>
    public bool TxtimeAssist =>
        Kind == "taprio" && Flags is uint f && (f & Libc.TCA_TAPRIO_ATTR_FLAG_TXTIME_ASSIST) != 0;

    internal static string FormatHandle(uint handle)
    {
        uint major = (handle & Libc.TC_H_MAJ_MASK) >> 16;
        uint minor = handle & Libc.TC_H_MIN_MASK;
        return minor == 0
            ? major.ToString("x", CultureInfo.InvariantCulture) + ":"
            : major.ToString("x", CultureInfo.InvariantCulture) + ":" + minor.ToString("x", CultureInfo.InvariantCulture);
    }
}

public enum LaunchTimeQdiscKind
{
    [JsonStringEnumMemberName("etf")] Etf,
    [JsonStringEnumMemberName("taprio")] Taprio,
    [JsonStringEnumMemberName("fq")] Fq,
}

public enum LaunchTimeClock
{
    /// <summary>etf, or taprio in txtime-assist mode: SCM_TXTIME values are CLOCK_TAI.</summary>
    [JsonStringEnumMemberName("CLOCK_TAI")] ClockTai,

    /// <summary>fq: SCM_TXTIME values are CLOCK_MONOTONIC earliest-departure times.</summary>
    [JsonStringEnumMemberName("CLOCK_MONOTONIC")] ClockMonotonic,
}

/// <summary>A qdisc that honours SO_TXTIME launch times, and the clock the times must be in.</summary>
public sealed record LaunchTimeQdisc(LaunchTimeQdiscKind Kind, LaunchTimeClock Clock, string Handle, bool Offload = false);

/// <summary>One received datagram of an RTM_GETQDISC dump, parsed.</summary>
/// <param name="Qdiscs">The RTM_NEWQDISC messages it carried.</param>
/// <param name="Done">NLMSG_DONE (or an NLMSG_ERROR) ended the dump.</param>
/// <param name="Error">A positive errno from NLMSG_ERROR (or a failed NLMSG_DONE); 0 when none.</param>
/// <param name="Interrupted">A message carried NLM_F_DUMP_INTR: the qdiscs changed during the dump.</param>
internal sealed record QdiscDumpPart(IReadOnlyList<QdiscInfo> Qdiscs, bool Done, int Error, bool Interrupted = false);

/// <summary>Reads the qdiscs of one or all interfaces with an rtnetlink RTM_GETQDISC dump.</summary>
public static unsafe class QdiscReader
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The qdiscs attached to <paramref name="ifindex"/>, in the kernel's dump order.</summary>
    /// <exception cref="NativeCallException">The netlink socket failed, the kernel answered with an error, or the timeout passed.</exception>
    /// <exception cref="InvalidDataException">The kernel's answer could not be parsed.</exception>
    public static IReadOnlyList<QdiscInfo> Read(int ifindex, TimeSpan? timeout = null) =>
        [.. ReadAll(timeout).Where(q => q.Ifindex == ifindex)];

    /// <summary>Every qdisc on every interface of this network namespace (builtin noop qdiscs excluded, as with tc).</summary>
    /// <inheritdoc cref="Read(int, TimeSpan?)" path="/exception"/>
    public static IReadOnlyList<QdiscInfo> ReadAll(TimeSpan? timeout = null)
    {
        // A dump that raced with a qdisc change (NLM_F_DUMP_INTR) may be inconsistent: retry it.
        const int Attempts = 3;
        long deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? DefaultTimeout).TotalSeconds * Stopwatch.Frequency);
        for (int attempt = 1; ; attempt++)
        {
            (List<QdiscInfo> qdiscs, bool interrupted) = Dump(deadline);
            if (!interrupted || attempt == Attempts)
            {
                return qdiscs;
            }
        }
    }

    private static (List<QdiscInfo> Qdiscs, bool Interrupted) Dump(long deadline)
    {
        bool interrupted = false;
        using NetlinkSocket netlink = NetlinkSocket.Open(Libc.NETLINK_ROUTE);
        uint sequence = NetlinkSocket.NextSequence();
        netlink.Send(DumpRequest(sequence), "RTM_GETQDISC");

        var qdiscs = new List<QdiscInfo>();
        // Native, not a pinned array: the engine probes this on every channel creation, and the
        // pinned-object heap is only collected by gen2 collections, which pause its real-time threads.
        byte* b = (byte*)NativeMemory.Alloc(NetlinkSocket.ReceiveBufferSize);
        try
        {
            while (true)
            {
                int received = netlink.Receive(b, NetlinkSocket.ReceiveBufferSize, deadline);
                QdiscDumpPart part = Parse(new ReadOnlySpan<byte>(b, received), sequence);
                qdiscs.AddRange(part.Qdiscs);
                interrupted |= part.Interrupted;
                if (part.Error != 0)
                {
                    Errno.ThrowFor(part.Error, "RTM_GETQDISC");
                }

                if (part.Done)
                {
                    return (qdiscs, interrupted);
                }
            }
        }
        finally
        {
            NativeMemory.Free(b);
        }
    }

    /// <summary>
    /// Picks the qdisc that will honour SO_TXTIME on this interface: etf first (CLOCK_TAI), then taprio
    /// in txtime-assist mode (CLOCK_TAI), then fq (CLOCK_MONOTONIC). Plain taprio, mqprio etc. do not count.
    /// </summary>
    public static bool HasLaunchTimeQdisc(IEnumerable<QdiscInfo> qdiscs, [NotNullWhen(true)] out LaunchTimeQdisc? launchTime)
    {
        launchTime = FindLaunchTimeQdisc(qdiscs);
        return launchTime is not null;
    }

    /// <inheritdoc cref="HasLaunchTimeQdisc"/>
    public static LaunchTimeQdisc? FindLaunchTimeQdisc(IEnumerable<QdiscInfo> qdiscs)
    {
        QdiscInfo[] all = [.. qdiscs];
        if (all.FirstOrDefault(q => q.Kind == "etf") is { } etf)
        {
            bool offload = etf.Flags is uint f && (f & Libc.TC_ETF_OFFLOAD_ON) != 0;
            return new LaunchTimeQdisc(LaunchTimeQdiscKind.Etf, LaunchTimeClock.ClockTai, etf.HandleId, offload);
        }

        if (all.FirstOrDefault(q => q.TxtimeAssist) is { } taprio)
        {
            return new LaunchTimeQdisc(LaunchTimeQdiscKind.Taprio, LaunchTimeClock.ClockTai, taprio.HandleId);
        }

        if (all.FirstOrDefault(q => q.Kind == "fq") is { } fq)
        {
            return new LaunchTimeQdisc(LaunchTimeQdiscKind.Fq, LaunchTimeClock.ClockMonotonic, fq.HandleId);
        }

        return null;
    }

    /// <summary>
    /// Parses one netlink datagram (possibly several messages) of an RTM_GETQDISC dump. Messages whose
    /// sequence number differs from <paramref name="sequence"/> are skipped (0 accepts any).
    /// </summary>
    /// <exception cref="InvalidDataException">A length field points outside the datagram.</exception>
    internal static QdiscDumpPart Parse(ReadOnlySpan<byte> datagram, uint sequence = 0)
    {
        var qdiscs = new List<QdiscInfo>();
        bool interrupted = false;
        int headerSize = sizeof(Libc.nlmsghdr);
        int offset = 0;
        while (datagram.Length - offset >= headerSize)
        {
            Libc.nlmsghdr header = MemoryMarshal.Read<Libc.nlmsghdr>(datagram[offset..]);
            if (header.nlmsg_len < headerSize || header.nlmsg_len > datagram.Length - offset)
            {
                throw new InvalidDataException(
                    $"netlink message at offset {offset} claims {header.nlmsg_len} bytes; {datagram.Length - offset} remain");
            }

            ReadOnlySpan<byte> payload = datagram.Slice(offset + headerSize, (int)header.nlmsg_len - headerSize);
            offset += Align(header.nlmsg_len, Libc.NLMSG_ALIGNTO);
            if (sequence != 0 && header.nlmsg_seq != sequence)
            {
                continue;
            }

            interrupted |= (header.nlmsg_flags & Libc.NLM_F_DUMP_INTR) != 0;

            switch (header.nlmsg_type)
            {
                case Libc.NLMSG_DONE:
                    int status = payload.Length >= sizeof(int) ? MemoryMarshal.Read<int>(payload) : 0;
                    return new QdiscDumpPart(qdiscs, Done: true, Error: status < 0 ? -status : 0, interrupted);
                case Libc.NLMSG_ERROR:
                    if (payload.Length < sizeof(int))
                    {
                        throw new InvalidDataException("NLMSG_ERROR without an error code");
                    }

                    int error = MemoryMarshal.Read<int>(payload);
                    return new QdiscDumpPart(qdiscs, Done: true, Error: error < 0 ? -error : error, interrupted);
                case Libc.RTM_NEWQDISC:
                    qdiscs.Add(ParseQdisc(payload));
                    break;
                default:
                    // NLMSG_NOOP, NLMSG_OVERRUN and anything else carry no qdisc.
                    break;
            }
        }

        return new QdiscDumpPart(qdiscs, Done: false, Error: 0, interrupted);
    }

    private static QdiscInfo ParseQdisc(ReadOnlySpan<byte> payload)
    {
        int tcmsgSize = sizeof(Libc.tcmsg);
        if (payload.Length < tcmsgSize)
        {
            throw new InvalidDataException($"RTM_NEWQDISC payload of {payload.Length} bytes is shorter than tcmsg");
        }

        Libc.tcmsg tcm = MemoryMarshal.Read<Libc.tcmsg>(payload);
        string kind = "";
        ReadOnlySpan<byte> options = default;
        foreach ((ushort type, int start, int length) in Attributes(payload[Align((uint)tcmsgSize, Libc.NLMSG_ALIGNTO)..]))
        {
            ReadOnlySpan<byte> value = payload.Slice(Align((uint)tcmsgSize, Libc.NLMSG_ALIGNTO) + start, length);
            if (type == Libc.TCA_KIND)
            {
                int nul = value.IndexOf((byte)0);
                kind = Encoding.ASCII.GetString(nul < 0 ? value : value[..nul]);
            }
            else if (type == Libc.TCA_OPTIONS)
            {
                options = value;
            }
        }

        (int? clockId, uint? flags) = kind switch
        {
            "etf" => EtfOptions(options),
            "taprio" => TaprioOptions(options),
            _ => (null, null),
        };
        return new QdiscInfo(tcm.tcm_ifindex, kind, tcm.tcm_handle, tcm.tcm_parent, clockId, flags);
    }

    private static (int?, uint?) EtfOptions(ReadOnlySpan<byte> options)
    {
        foreach ((ushort type, int start, int length) in Attributes(options))
        {
            if (type == Libc.TCA_ETF_PARMS && length >= sizeof(Libc.tc_etf_qopt))
            {
                Libc.tc_etf_qopt qopt = MemoryMarshal.Read<Libc.tc_etf_qopt>(options.Slice(start, length));
                return (qopt.clockid, qopt.flags);
            }
        }

        return (null, null);
    }

    private static (int?, uint?) TaprioOptions(ReadOnlySpan<byte> options)
    {
        int? clockId = null;
        uint? flags = null;
        foreach ((ushort type, int start, int length) in Attributes(options))
        {
            if (type == Libc.TCA_TAPRIO_ATTR_SCHED_CLOCKID && length >= sizeof(int))
            {
                clockId = MemoryMarshal.Read<int>(options.Slice(start, length));
            }
            else if (type == Libc.TCA_TAPRIO_ATTR_FLAGS && length >= sizeof(uint))
            {
                flags = MemoryMarshal.Read<uint>(options.Slice(start, length));
            }
        }

        return (clockId, flags);
    }

    /// <summary>(type without the NLA_F_* bits, value offset, value length) of each rtattr in <paramref name="span"/>.</summary>
    private static List<(ushort Type, int Start, int Length)> Attributes(ReadOnlySpan<byte> span)
    {
        const ushort TypeMask = 0x3fff; // strips NLA_F_NESTED / NLA_F_NET_BYTEORDER
        var result = new List<(ushort, int, int)>();
        int headerSize = sizeof(Libc.rtattr);
        int offset = 0;
        while (span.Length - offset >= headerSize)
        {
            Libc.rtattr rta = MemoryMarshal.Read<Libc.rtattr>(span[offset..]);
            if (rta.rta_len < headerSize || rta.rta_len > span.Length - offset)
            {
                throw new InvalidDataException($"rtattr at offset {offset} claims {rta.rta_len} bytes; {span.Length - offset} remain");
            }

            result.Add(((ushort)(rta.rta_type & TypeMask), offset + headerSize, rta.rta_len - headerSize));
            offset += Align(rta.rta_len, Libc.RTA_ALIGNTO);
        }

        return result;
    }

    private static int Align(uint length, int alignTo) => (int)((length + (uint)alignTo - 1) & ~((uint)alignTo - 1));

    private static byte[] DumpRequest(uint sequence)
    {
        Libc.tcmsg tcm = default;
        tcm.tcm_family = (byte)AF_UNSPEC;
        return new NetlinkRequestBuilder(Libc.RTM_GETQDISC, Libc.NLM_F_REQUEST | Libc.NLM_F_DUMP, sequence).Append(tcm).ToArray();
    }
}
