using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Timestamping;
using RtUdp.Core.ShmClient;
using RtUdp.Native.Abi;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// rtudp.h against the C# the library is built from, with gcc as the oracle: every struct's size and every field's
/// offset and size (fields found by reflection, named in C as in C# but in snake_case), and every constant
/// (status codes, ABI version, flags, stamp sources). Needs only the header and gcc, not the library.
/// </summary>
public sealed class HeaderLayoutTests
{
    private static readonly Dictionary<Type, string> Structs = new()
    {
        [typeof(RtUdpPacket)] = "rtudp_packet",
        [typeof(RtUdpRxInfo)] = "rtudp_rx_info",
        [typeof(ShmStats)] = "rtudp_stats",
    };

    [Fact]
    public void Struct_layouts_match_the_header()
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((Type type, string c) in Structs)
        {
            expected.Add($"sizeof:{c}", (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!);
            foreach (FieldInfo field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                string key = $"{c}.{SnakeCase(field.Name)}";
                expected.Add($"offsetof:{key}", Marshal.OffsetOf(type, field.Name).ToInt64());
                expected.Add($"fieldsize:{key}", FieldSize(field));
            }
        }
        // Guards the guard: reflection found the fields (a struct with none would compare only its size).
        Assert.Contains("offsetof:rtudp_rx_info.source_addr", expected.Keys);
        Assert.Contains("offsetof:rtudp_stats.max_payload", expected.Keys);
        AssertProbe(expected, key =>
        {
            string[] parts = key.Split(':', '.');
            return parts[0] switch
            {
                "sizeof" => $"sizeof({parts[1]})",
                "offsetof" => $"offsetof({parts[1]}, {parts[2]})",
                _ => $"sizeof((({parts[1]} *)0)->{parts[2]})",
            };
        });
    }

    [Fact]
    public void Constants_match_the_header()
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["RTUDP_ABI_VERSION"] = ShmAbi.Version,
            ["RTUDP_SEND_IMMEDIATE"] = ShmAbi.SendImmediate,
            ["RTUDP_ATTACH_SEND"] = ShmAbi.AttachSend,
            ["RTUDP_ATTACH_RECEIVE"] = ShmAbi.AttachReceive,
            ["RTUDP_STAMP_NONE"] = (long)StampSource.None,
            ["RTUDP_STAMP_WORKER"] = (long)StampSource.Worker,
            ["RTUDP_STAMP_SOFTWARE"] = (long)StampSource.Software,
            ["RTUDP_STAMP_HARDWARE"] = (long)StampSource.Hardware,
        };
        foreach (ShmStatus status in Enum.GetValues<ShmStatus>())
        {
            expected.Add(ShmStatusNames.Name(status), (long)status);
        }
        Assert.Contains("RTUDP_E_BUFFER", expected.Keys);
        AssertProbe(expected, name => name);
    }

    /// <summary>PascalCase to C's snake_case: TxAccepted → tx_accepted, KernelRealtimeNs → kernel_realtime_ns.</summary>
    private static string SnakeCase(string name)
    {
        var text = new StringBuilder();
        foreach (char ch in name)
        {
            if (char.IsUpper(ch) && text.Length > 0)
            {
                text.Append('_');
            }
            text.Append(char.ToLowerInvariant(ch));
        }
        return text.ToString();
    }

    /// <summary>A fixed buffer (source_addr) is its element size times its length; anything else its marshalled size.</summary>
    private static long FieldSize(FieldInfo field)
    {
        if (field.GetCustomAttribute<FixedBufferAttribute>() is { } buffer)
        {
            return Marshal.SizeOf(buffer.ElementType) * buffer.Length;
        }
        return field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
    }

    /// <summary>Compiles a program printing each key's C expression with the header, and compares with what C# says.</summary>
    private static void AssertProbe(Dictionary<string, long> expected, Func<string, string> expression)
    {
        var source = new StringBuilder("#include <stddef.h>\n#include <stdio.h>\n#include <rtudp.h>\nint main(void)\n{\n");
        foreach (string key in expected.Keys)
        {
            source.Append(CultureInfo.InvariantCulture, $"    printf(\"%s %lld\\n\", \"{key}\", (long long)({expression(key)}));\n");
        }
        source.Append("    return 0;\n}\n");
        IReadOnlyDictionary<string, long> c = RunProbe(source.ToString());
        var mismatches = expected.Where(e => !c.TryGetValue(e.Key, out long v) || v != e.Value)
            .Select(e => $"{e.Key}: C says {(c.TryGetValue(e.Key, out long v) ? v.ToString(CultureInfo.InvariantCulture) : "nothing")}, C# says {e.Value}")
            .ToList();
        Assert.True(mismatches.Count == 0, "rtudp.h and the C# disagree:\n" + string.Join('\n', mismatches));
    }

    private static Dictionary<string, long> RunProbe(string source)
    {
        DirectoryInfo dir = Directory.CreateTempSubdirectory("rtudp-header-probe-");
        try
        {
            string c = Path.Combine(dir.FullName, "probe.c");
            string exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(c, source);
            string include = Path.Combine(Ctl.CtlProcess.Repository(), "src", "RtUdp.Native", "include");
            // -pedantic: the header is plain C11 (what a C program includes it with).
            ProcessResult gcc = ProcessRunner.Run(Tool.Require("gcc", "gcc libc6-dev"),
                ["-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror", "-I", include, "-o", exe, c], TimeSpan.FromMinutes(1));
            Assert.True(gcc.ExitCode == 0, $"gcc failed:\n{gcc.Output}\n--- probe.c ---\n{source}");
            ProcessResult probe = ProcessRunner.Run(exe, [], TimeSpan.FromMinutes(1));
            Assert.True(probe.ExitCode == 0, probe.ToString());
            return probe.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture), StringComparer.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
