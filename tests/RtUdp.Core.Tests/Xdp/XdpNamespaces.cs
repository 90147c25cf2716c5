using System.Net;
using System.Net.Sockets;
using RtUdp.Core.Xdp;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Two network namespaces joined by a veth pair, for the xdp steering program: it is attached to A's end
/// (<see cref="VethA"/>), traffic is sent from B (10.232.N.2) to A (10.232.N.1). Nothing leaves the namespaces.
/// libxdp acts in the calling thread's network namespace, so everything that names an interface runs through
/// <see cref="InA{T}(Func{T})"/> (a thread that joined A with setns; the mount namespace stays this process's,
/// so the bpffs at /sys/fs/bpf is the one xdp-loader, run with <c>nsenter --net</c>, sees too).
/// Needs root, iproute2, xdp-tools, bpftool, clang, libxdp1; else <see cref="SkipReason"/> (not root) or a failure naming the package.
/// </summary>
public sealed class XdpNamespaces : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly List<string> _namespaces = [];

    public XdpNamespaces()
    {
        if (LibC.geteuid() != 0)
        {
            SkipReason = "needs root (network namespaces, veth, XDP programs, bpffs); CI runs as root";
            return;
        }
        IpPath = Tool.Require("ip", "iproute2");
        NsenterPath = Tool.Require("nsenter", "util-linux");
        XdpLoaderPath = Tool.Require("xdp-loader", "xdp-tools");
        BpftoolPath = Tool.Require("bpftool", "bpftool");
        Tool.Require("clang", "clang");
        ObjectPath = Tool.RequireFile(XdpSteeringProgram.DefaultObjectPath, "clang libbpf-dev libxdp-dev (the build compiles it)");
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        NamespaceA = $"rtxdp-a-{suffix}";
        NamespaceB = $"rtxdp-b-{suffix}";
        VethA = $"rtxdp-va-{suffix}";
        VethB = $"rtxdp-vb-{suffix}";
        AddressA = IPAddress.Parse($"10.232.{subnet}.1");
        AddressB = IPAddress.Parse($"10.232.{subnet}.2");
        Address6A = IPAddress.Parse($"fd00:232:{subnet:x}::1");
        Address6B = IPAddress.Parse($"fd00:232:{subnet:x}::2");
        try
        {
            Ip("netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Ip("netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Two rx queues on A's end: two channels on two queues.
            Ip("-n", NamespaceA, "link", "add", VethA, "numrxqueues", "2", "numtxqueues", "2", "type", "veth", "peer", "name", VethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, VethA, AddressA), (NamespaceB, VethB, AddressB) })
            {
                Ip("-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                // nodad: usable at once, no duplicate address detection to wait for.
                Ip("-n", ns, "-6", "addr", "add", $"{(ns == NamespaceA ? Address6A : Address6B)}/64", "dev", veth, "nodad");
                Ip("-n", ns, "link", "set", "lo", "up");
                Ip("-n", ns, "link", "set", veth, "up");
            }
            IfindexA = InA(() => IndexOf(VethA));
            Assert.True(IfindexA > 0, $"if_nametoindex({VethA}) in {NamespaceA} failed");
            OtherObjectPath = CompileOtherProgram();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? SkipReason { get; }

    public string? IpPath { get; }

    public string? NsenterPath { get; }

    public string? XdpLoaderPath { get; }

    public string? BpftoolPath { get; }

    /// <summary>rtudp_xdp.bpf.o next to the test assembly (copied from rtudp-engine's build).</summary>
    public string ObjectPath { get; } = "";

    /// <summary>Another XDP user's program: "other_pass", returns XDP_PASS (compiled here with clang).</summary>
    public string OtherObjectPath { get; } = "";

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    public string VethA { get; } = "";

    public string VethB { get; } = "";

    public int IfindexA { get; }

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    public IPAddress Address6A { get; } = IPAddress.IPv6None;

    public IPAddress Address6B { get; } = IPAddress.IPv6None;

    /// <summary>Runs <paramref name="action"/> on a new thread that joined namespace A's network namespace (a namespace is per thread).</summary>
    public T InA<T>(Func<T> action) => InNamespace(NamespaceA, action);

    public void InA(Action action) => InNamespace<object?>(NamespaceA, () =>
    {
        action();
        return null;
    });

    /// <inheritdoc cref="InA{T}(Func{T})"/>
    public T InB<T>(Func<T> action) => InNamespace(NamespaceB, action);

    private static T InNamespace<T>(string ns, Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{ns}");
                if (LibC.setns((int)handle.DangerousGetHandle(), LibC.CLONE_NEWNET) != 0)
                {
                    throw new InvalidOperationException($"setns({ns}) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                }
                result = action();
            }
#pragma warning disable CA1031 // Re-thrown on the test's thread.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), $"an action in namespace {ns} did not finish in 60 s");
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
        return result;
    }

    /// <summary>A UDP socket bound in A to <see cref="AddressA"/>:<paramref name="port"/> (0: any free port).</summary>
    public Socket ReceiverInA(int port = 0, bool ipv6 = false) => InA(() =>
    {
        var socket = new Socket(ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(ipv6 ? Address6A : AddressA, port));
        socket.ReceiveTimeout = 200;
        return socket;
    });

    /// <summary>A UDP socket in B, to send to A.</summary>
    public Socket SenderInB(AddressFamily family = AddressFamily.InterNetwork) => InB(() => new Socket(family, SocketType.Dgram, ProtocolType.Udp));

    /// <summary>
    /// Whether datagrams from B reach <paramref name="receiver"/> in A: sends one at a time (with its number) until one
    /// arrives, for up to 10 s (the first may wait on neighbour resolution).
    /// </summary>
    public bool Reaches(Socket receiver, TimeSpan? within = null)
    {
        using Socket sender = SenderInB(receiver.AddressFamily);
        var target = (IPEndPoint)receiver.LocalEndPoint!;
        byte[] buffer = new byte[64];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan limit = within ?? TimeSpan.FromSeconds(10);
        for (int i = 0; clock.Elapsed < limit; i++)
        {
            sender.SendTo(BitConverter.GetBytes(i), target);
            try
            {
                if (receiver.Receive(buffer) == 4)
                {
                    return true;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
            }
        }
        return false;
    }

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

    private static unsafe int IndexOf(string name)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* p = bytes)
        {
            return (int)RtUdp.Core.Native.Libc.if_nametoindex(p);
        }
    }

    private string Ip(params string[] args)
    {
        ProcessResult ip = ProcessRunner.Run(IpPath!, args, CommandTimeout);
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed ({ip.ExitCode}): {ip.Stderr.Trim()}");
        }
        return ip.Stdout;
    }

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

    public void Dispose()
    {
        // Unloaded first so that libxdp's pins in the bpffs go too (a dispatcher that dies with its interface
        // leaves its pin directory behind). Deleting A's namespace destroys the veth pair, and with it every XDP program attached to it.
        if (_namespaces.Contains(NamespaceA) && XdpLoaderPath is not null)
        {
            XdpLoader("unload", VethA, "--all");
        }
        foreach (string ns in _namespaces)
        {
            try
            {
                Ip("netns", "del", ns);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
        }
        _namespaces.Clear();
        if (OtherObjectPath.Length > 0)
        {
            Directory.Delete(Path.GetDirectoryName(OtherObjectPath)!, recursive: true);
        }
    }
}
