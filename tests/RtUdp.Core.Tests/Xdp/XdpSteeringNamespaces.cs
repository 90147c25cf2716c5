using System.Net.Sockets;
using RtUdp.Core.Xdp;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// The steering tests' <see cref="XdpNamespacePair"/> ("xdps-*", 10.237.N.0/30, fd00:237:N::/64), two queues on
/// each end (two channels on two queues): the program is attached to A's end (<see cref="VethNamespacePair.VethA"/>),
/// traffic is sent from B to A. libxdp acts in the calling thread's network namespace, so everything that names an
/// interface runs through <see cref="VethNamespacePair.InA{T}(Func{T})"/> (the mount namespace stays this process's,
/// so the bpffs at /sys/fs/bpf is the one xdp-loader, run with <c>nsenter --net</c>, sees too). One per test: they
/// attach and detach on the same interface. Needs root, iproute2, xdp-tools, bpftool, clang, libxdp1; else
/// <see cref="VethNamespacePair.SkipReason"/> (not root) or a failure naming the package.
/// </summary>
public sealed class XdpSteeringNamespaces : XdpNamespacePair
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    public XdpSteeringNamespaces()
        : base("xdps", 237, "network namespaces, veth, XDP programs, bpffs", queues: 2)
    {
        if (SkipReason is not null)
        {
            return;
        }
        try
        {
            NsenterPath = Tool.Require("nsenter", "util-linux");
            XdpLoaderPath = Tool.Require("xdp-loader", "xdp-tools");
            BpftoolPath = Tool.Require("bpftool", "bpftool");
            Tool.Require("clang", "clang");
            ObjectPath = Tool.RequireFile(XdpSteeringProgram.DefaultObjectPath, "clang libbpf-dev libxdp-dev (the build compiles it)");
            OtherObjectPath = CompileOtherProgram();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? NsenterPath { get; }

    public string? XdpLoaderPath { get; }

    public string? BpftoolPath { get; }

    /// <summary>rtudp_xdp.bpf.o next to the test assembly (copied from rtudp-engine's build).</summary>
    public string ObjectPath { get; } = "";

    /// <summary>Another XDP user's program: "other_pass", returns XDP_PASS (compiled here with clang).</summary>
    public string OtherObjectPath { get; } = "";

    /// <summary>A UDP socket bound in A to A's address (<paramref name="ipv6"/>: its IPv6 one) and a free port, with a short timeout for <see cref="XdpNamespacePair.Reaches"/>.</summary>
    public Socket ReceiverInA(bool ipv6 = false) => UdpInA(ipv6, receiveTimeoutMs: 200);

    /// <summary>xdp-loader (libxdp's own tool) in namespace A, sharing this process's bpffs.</summary>
    internal ProcessResult XdpLoader(params string[] args) =>
        ProcessRunner.Run(NsenterPath!, [$"--net=/run/netns/{NamespaceA}", XdpLoaderPath!, .. args], CommandTimeout);

    /// <summary>xdp-loader status for A's end: one line per program.</summary>
    public string Status()
    {
        ProcessResult status = XdpLoader("status", VethA);
        Assert.True(status.ExitCode == 0, $"xdp-loader status failed ({status.ExitCode}): {status.Stderr}");
        return status.Stdout;
    }

    /// <summary>Loads <paramref name="objectPath"/> on A's end with xdp-loader in <paramref name="mode"/> (skb, native); returns its result.</summary>
    internal ProcessResult LoadWithXdpLoader(string objectPath, string mode = "skb") => XdpLoader("load", "-m", mode, VethA, objectPath);

    /// <summary>The programs on A's end, as libxdp lists them.</summary>
    public IReadOnlyList<(string Name, uint Id)> Programs() => InA(() => XdpSteeringProgram.ListPrograms(IfindexA));

    /// <summary>bpftool in the root namespace (program and map ids are global).</summary>
    public string Bpftool(params string[] args) => Tool.Run(BpftoolPath!, args);

    private static string CompileOtherProgram()
    {
        string dir = Directory.CreateTempSubdirectory("rtudp-xdp-other-").FullName;
        string source = Path.Combine(dir, "other_pass.bpf.c");
        File.WriteAllText(source, """
            #include <linux/bpf.h>
            #include <bpf/bpf_helpers.h>
            SEC("xdp")
            int other_pass(struct xdp_md *ctx)
            {
                return XDP_PASS;
            }
            char _license[] SEC("license") = "GPL";
            """);
        string obj = Path.Combine(dir, "other_pass.bpf.o");
        string arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64" : "x86_64";
        Tool.Run(Tool.Find("clang")!, "-O2", "-g", "-target", "bpf", $"-I/usr/include/{arch}-linux-gnu", "-c", source, "-o", obj);
        return obj;
    }

    protected override void Dispose(bool disposing)
    {
        // Unloaded first so that libxdp's pins in the bpffs go too (a dispatcher that dies with its interface
        // leaves its pin directory behind). Deleting A's namespace destroys the veth pair, and with it every XDP program attached to it.
        if (HasNamespaceA && XdpLoaderPath is not null && NsenterPath is not null)
        {
            XdpLoader("unload", VethA, "--all");
        }
        base.Dispose(disposing);
        if (OtherObjectPath.Length > 0)
        {
            Directory.Delete(Path.GetDirectoryName(OtherObjectPath)!, recursive: true);
        }
    }
}
