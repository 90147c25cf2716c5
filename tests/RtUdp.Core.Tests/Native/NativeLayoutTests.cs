using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Xunit.Abstractions;

namespace RtUdp.Core.Tests.Native;

/// <summary>
/// Every constant and struct declared in the native layer is discovered by reflection and checked
/// against the system headers, so adding one to <see cref="Libc"/> or <see cref="Errno"/> adds its
/// check with no change here. Nothing expected is hard-coded: gcc reports the truth.
/// </summary>
public sealed class NativeLayoutTests(NativeLayoutTests.Probe probe, ITestOutputHelper output)
    : IClassFixture<NativeLayoutTests.Probe>
{
    private static readonly string[] Headers =
    [
        "errno.h", "time.h", "sched.h", "unistd.h", "sys/socket.h", "sys/syscall.h", "sys/prctl.h",
        "net/if.h", "asm/socket.h", "linux/net_tstamp.h", "linux/errqueue.h", "linux/sockios.h",
        "linux/ethtool.h", "linux/futex.h", "sys/timex.h", "sys/resource.h", "linux/netlink.h",
        "linux/rtnetlink.h", "linux/pkt_sched.h", "linux/ptp_clock.h", "linux/capability.h", "sys/wait.h",
        "linux/sock_diag.h", "netinet/udp.h", "linux/neighbour.h", "linux/if_link.h", "linux/genetlink.h",
        "linux/if_ether.h", "linux/if_arp.h", "linux/if_xdp.h", "sys/statfs.h", "sys/mount.h", "linux/magic.h",
        "sys/mman.h", "fcntl.h",
    ];

    /// <summary>Headers that older header sets lack entirely (included when present; their constants are in <see cref="IntroducedIn"/>).</summary>
    private static readonly string[] OptionalHeaders = ["linux/netdev.h"];

    private static readonly Type[] ConstantHolders = [typeof(Libc), typeof(Errno)];

    /// <summary>
    /// Tmds.LibC constants the code uses where it once kept copies of its own: checked like ours
    /// (Tmds.LibC declares them as properties, so reflection on fields does not find them).
    /// </summary>
    private static readonly string[] TmdsConstantsUsed =
    [
        "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_RESET_ON_FORK",
        "SO_PRIORITY", "SO_TIMESTAMPING", "SO_RXQ_OVFL", "SO_BUSY_POLL", "SO_MEMINFO", "SO_ZEROCOPY",
        "SOL_SOCKET", "SO_BINDTODEVICE",
        // Same-host client regions (memfd, seals) and engine.sock (descriptors over SOCK_SEQPACKET).
        "MFD_CLOEXEC", "MFD_ALLOW_SEALING", "F_ADD_SEALS", "F_GET_SEALS", "F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_SEAL",
        "SCM_RIGHTS", "SOCK_SEQPACKET", "SOCK_CLOEXEC", "SOCK_NONBLOCK", "MSG_CMSG_CLOEXEC", "MSG_DONTWAIT",
    ];

    /// <summary>
    /// Constants, structs and struct fields newer than some supported header sets (C enum members and
    /// struct fields cannot be probed with #ifdef): checked only when the headers are at least this
    /// kernel version. A constant by its name; a struct by its name (all its values, when the layout
    /// declared is that release's); a field as "struct.field" (its offset and size).
    /// </summary>
    private static readonly Dictionary<string, Version> IntroducedIn = new(StringComparer.Ordinal)
    {
        ["SOF_TIMESTAMPING_OPT_ID_TCP"] = new Version(6, 2),
        // futex2's name for FUTEX_32 (futex_waitv's size flag).
        ["FUTEX2_SIZE_U32"] = new Version(6, 7),
        // <linux/netdev.h> appeared in 6.3; its attributes and flags grew after.
        ["NETDEV_FAMILY_VERSION"] = new Version(6, 3),
        ["NETDEV_CMD_DEV_GET"] = new Version(6, 3),
        ["NETDEV_A_DEV_IFINDEX"] = new Version(6, 3),
        ["NETDEV_A_DEV_XDP_FEATURES"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_BASIC"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_REDIRECT"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_NDO_XMIT"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_XSK_ZEROCOPY"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_HW_OFFLOAD"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_RX_SG"] = new Version(6, 3),
        ["NETDEV_XDP_ACT_NDO_XMIT_SG"] = new Version(6, 3),
        ["NETDEV_A_DEV_XDP_ZC_MAX_SEGS"] = new Version(6, 6),
        ["NETDEV_A_DEV_XDP_RX_METADATA_FEATURES"] = new Version(6, 8),
        ["NETDEV_A_DEV_XSK_FEATURES"] = new Version(6, 8),
        ["NETDEV_XSK_FLAGS_TX_TIMESTAMP"] = new Version(6, 8),
        ["NETDEV_XSK_FLAGS_TX_CHECKSUM"] = new Version(6, 8),
        ["NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO"] = new Version(6, 15),
        ["XDP_USE_SG"] = new Version(6, 6),
        ["XDP_PKT_CONTD"] = new Version(6, 6),
        ["XDP_UMEM_TX_SW_CSUM"] = new Version(6, 8),
        ["XDP_TX_METADATA"] = new Version(6, 8),
        ["XDP_TXMD_FLAGS_TIMESTAMP"] = new Version(6, 8),
        ["XDP_TXMD_FLAGS_CHECKSUM"] = new Version(6, 8),
        ["xdp_umem_reg.tx_metadata_len"] = new Version(6, 8),
        ["XDP_UMEM_TX_METADATA_LEN"] = new Version(6, 11),
        ["XDP_TXMD_FLAGS_LAUNCH_TIME"] = new Version(6, 15),
        // Struct since 6.8; declared with 6.15's request.launch_time, which made it 24 bytes instead of 16.
        ["xsk_tx_metadata"] = new Version(6, 15),
    };

    [Fact]
    public void Constants_match_system_headers() => AssertMatches(ExpectedConstants());

    [Fact]
    public void Struct_layouts_match_system_headers() => AssertMatches(ExpectedLayouts());

    [Fact]
    public void Reflection_finds_the_declared_surface()
    {
        // Guards the guard: if discovery silently found nothing, the two tests above would pass vacuously.
        Assert.Contains("const:SYS_futex", ExpectedConstants().Keys);
        Assert.Contains("const:FUTEX_BITSET_MATCH_ANY", ExpectedConstants().Keys);
        Assert.Contains("const:EPERM", ExpectedConstants().Keys);
        Assert.Contains("const:SK_MEMINFO_DROPS", ExpectedConstants().Keys);
        Assert.Contains("const:SO_RXQ_OVFL", ExpectedConstants().Keys);
        Assert.Contains("offsetof:ifreq.ifr_ifindex", ExpectedLayouts().Keys);
        Assert.Contains("sizeof:ethtool_ts_info", ExpectedLayouts().Keys);
        Assert.Contains("offsetof:ethtool_value.data", ExpectedLayouts().Keys);
        Assert.Contains("const:ETHTOOL_GTXCSUM", ExpectedConstants().Keys);
        Assert.Contains("const:UDP_SEGMENT", ExpectedConstants().Keys);
        Assert.Contains("sizeof:timex", ExpectedLayouts().Keys);
        Assert.Contains("offsetof:timex.tai", ExpectedLayouts().Keys);
        Assert.Contains("sizeof:tcmsg", ExpectedLayouts().Keys);
        Assert.Contains("const:TC_H_ROOT", ExpectedConstants().Keys);
        Assert.Contains("const:PTP_SYS_OFFSET_EXTENDED", ExpectedConstants().Keys);
        Assert.Contains("fieldsize:ptp_sys_offset_extended.ts", ExpectedLayouts().Keys);
        Assert.Contains("sizeof:ndmsg", ExpectedLayouts().Keys);
        Assert.Contains("offsetof:rtmsg.rtm_type", ExpectedLayouts().Keys);
        Assert.Contains("sizeof:genlmsghdr", ExpectedLayouts().Keys);
        Assert.Contains("const:NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO", ExpectedConstants().Keys);
        Assert.Contains("const:XDP_UMEM_PGOFF_COMPLETION_RING", ExpectedConstants().Keys);
        Assert.Contains("offsetof:xdp_mmap_offsets.cr", ExpectedLayouts().Keys);
        Assert.Contains("offsetof:xdp_umem_reg.tx_metadata_len", ExpectedLayouts().Keys);
        Assert.Contains("sizeof:xsk_tx_metadata", ExpectedLayouts().Keys);
        Assert.Contains("offsetof:futex_waitv.uaddr", ExpectedLayouts().Keys);
        Assert.Contains("const:SYS_futex_waitv", ExpectedConstants().Keys);
        Assert.Contains("const:F_ADD_SEALS", ExpectedConstants().Keys);
    }

    private void AssertMatches(Dictionary<string, long> expected)
    {
        var mismatches = new List<string>();
        int compared = 0;
        foreach ((string key, long csharp) in expected)
        {
            if (!probe.Values.TryGetValue(key, out string? c))
            {
                if (probe.Values.TryGetValue("absent:" + key, out string? since))
                {
                    output.WriteLine($"not checked: {key} (headers predate Linux {since})");
                    continue;
                }

                mismatches.Add($"{key}: not printed by the probe");
                continue;
            }

            compared++;
            if (long.Parse(c, CultureInfo.InvariantCulture) != csharp)
            {
                mismatches.Add($"{key}: C says {c}, C# says {csharp}");
            }
        }

        output.WriteLine($"{compared} values compared with the C compiler");
        Assert.True(mismatches.Count == 0, "Mismatches against system headers:\n" + string.Join('\n', mismatches));
    }

    private static Dictionary<string, long> ExpectedConstants()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (FieldInfo field in ConstantFields())
        {
            values.Add("const:" + field.Name, Convert.ToInt64(field.GetValue(null), CultureInfo.InvariantCulture));
        }

        foreach (string name in TmdsConstantsUsed)
        {
            values.Add("const:" + name, Convert.ToInt64(TmdsConstant(name), CultureInfo.InvariantCulture));
        }

        return values;
    }

    private static Dictionary<string, long> ExpectedLayouts()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Type type in Structs())
        {
            values.Add("sizeof:" + type.Name, ManagedSize(type));
            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                string key = type.Name + "." + field.Name;
                // Marshal.OffsetOf reports the marshalled layout, identical to the managed one for
                // these blittable structs.
                values.Add("offsetof:" + key, Marshal.OffsetOf(type, field.Name).ToInt64());
                values.Add("fieldsize:" + key, field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType));
            }
        }

        return values;
    }

    // Literals plus static readonly integers such as SYS_futex, whose value is picked per architecture.
    private static IEnumerable<FieldInfo> ConstantFields() =>
        ConstantHolders
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => (f.IsLiteral || f.IsInitOnly) && f.FieldType.IsPrimitive);

    private static object TmdsConstant(string name) =>
        typeof(Tmds.Linux.LibC).GetProperty(name, BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
        ?? throw new InvalidOperationException($"Tmds.Linux.LibC has no {name}");

    private static IEnumerable<Type> Structs() =>
        typeof(Libc).GetNestedTypes(BindingFlags.Public).Where(t => t.IsValueType && !t.IsEnum);

    private static int ManagedSize(Type type) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

    private static string GenerateProbe()
    {
        var source = new HeaderProbe.SourceBuilder(Headers, OptionalHeaders);
        foreach (FieldInfo field in ConstantFields())
        {
            string key = "const:" + field.Name;
            if (IntroducedIn.TryGetValue(field.Name, out Version? since))
            {
                source.ValueSince(key, field.Name, since);
            }
            else
            {
                source.Value(key, field.Name);
            }
        }

        foreach (string name in TmdsConstantsUsed)
        {
            source.Value("const:" + name, name);
        }

        foreach (Type type in Structs())
        {
            string c = "struct " + type.Name;
            Version? structSince = IntroducedIn.GetValueOrDefault(type.Name);
            Value(source, "sizeof:" + type.Name, $"sizeof({c})", structSince);
            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                string key = type.Name + "." + field.Name;
                Version? since = IntroducedIn.GetValueOrDefault(key) ?? structSince;
                Value(source, "offsetof:" + key, $"offsetof({c}, {field.Name})", since);
                Value(source, "fieldsize:" + key, $"sizeof((({c}*)0)->{field.Name})", since);
            }
        }

        return source.ToString();
    }

    private static void Value(HeaderProbe.SourceBuilder source, string key, string cExpression, Version? since)
    {
        if (since is null)
        {
            source.Value(key, cExpression);
        }
        else
        {
            source.ValueSince(key, cExpression, since);
        }
    }

    /// <summary>Compiles and runs the probe once for all tests in the class.</summary>
    public sealed class Probe
    {
        public IReadOnlyDictionary<string, string> Values { get; } = HeaderProbe.Run(GenerateProbe());
    }
}
