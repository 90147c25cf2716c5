using System.Diagnostics;
using System.Net;
using RtUdp.Core.Tests.Integration;

namespace RtUdp.Core.Tests.Flows;

/// <summary>
/// Two network namespaces ("flw-a-*", "flw-b-*") joined by a veth pair, each with its own engine, for
/// flows that cross a real link: addresses 10.232.N.1/30 and .2/30 exist only inside the namespaces.
/// Needs root, iproute2 and nft (nftables: the kernel here has no tc drop action, so loss is
/// injected by an nftables rule); otherwise <see cref="SkipReason"/> says why. Everything created is
/// removed in <see cref="Dispose"/>, also when set-up fails half way.
/// </summary>
public sealed class FlowNamespaceFixture : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(15);
    private readonly List<string> _namespaces = [];

    public FlowNamespaceFixture()
    {
        if (Tmds.Linux.LibC.geteuid() != 0)
        {
            SkipReason = "needs root (network namespaces, veth, nftables); CI runs as root";
            return;
        }
        Ip = Find("ip");
        Nft = Find("nft");
        if (Ip is null || Nft is null)
        {
            SkipReason = "needs 'ip' (iproute2) and 'nft' (nftables)";
            return;
        }
        string suffix = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..4];
        int subnet = Random.Shared.Next(0, 64) * 4;
        NamespaceA = $"flw-a-{suffix}";
        NamespaceB = $"flw-b-{suffix}";
        string vethA = $"flw-va-{suffix}";
        string vethB = $"flw-vb-{suffix}";
        AddressA = IPAddress.Parse($"10.232.{subnet}.1");
        AddressB = IPAddress.Parse($"10.232.{subnet}.2");
        try
        {
            Run(Ip, "netns", "add", NamespaceA);
            _namespaces.Add(NamespaceA);
            Run(Ip, "netns", "add", NamespaceB);
            _namespaces.Add(NamespaceB);
            // Created inside A, so a failure later never leaves a link in the root namespace.
            Run(Ip, "-n", NamespaceA, "link", "add", vethA, "type", "veth", "peer", "name", vethB, "netns", NamespaceB);
            foreach ((string ns, string veth, IPAddress address) in new[] { (NamespaceA, vethA, AddressA), (NamespaceB, vethB, AddressB) })
            {
                Run(Ip, "-n", ns, "addr", "add", $"{address}/30", "dev", veth);
                Run(Ip, "-n", ns, "link", "set", "lo", "up");
                Run(Ip, "-n", ns, "link", "set", veth, "up");
            }
            EngineA = EngineFixture.StartWrapped([Ip, "netns", "exec", NamespaceA]);
            EngineB = EngineFixture.StartWrapped([Ip, "netns", "exec", NamespaceB]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string? SkipReason { get; }

    public string? Ip { get; }

    public string? Nft { get; }

    public string NamespaceA { get; } = "";

    public string NamespaceB { get; } = "";

    public IPAddress AddressA { get; } = IPAddress.None;

    public IPAddress AddressB { get; } = IPAddress.None;

    public EngineFixture? EngineA { get; private set; }

    public EngineFixture? EngineB { get; private set; }

    /// <summary>Runs nft inside namespace A (its rules die with the namespace).</summary>
    public string NftInA(params string[] args) => Run(Ip!, ["netns", "exec", NamespaceA, Nft!, .. args]);

    private static string? Find(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
            .Select(d => Path.Combine(d, tool))
            .FirstOrDefault(File.Exists);

    private static string Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill();
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {CommandTimeout.TotalSeconds} s");
        }
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result.Trim()}");
        }
        return stdout.Result;
    }

    public void Dispose()
    {
        EngineA?.Dispose();
        EngineA = null;
        EngineB?.Dispose();
        EngineB = null;
        // Deleting a namespace destroys the veth end inside it, and with it the peer.
        foreach (string ns in _namespaces)
        {
            try
            {
                Run(Ip!, "netns", "del", ns);
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"cleanup: {e.Message}");
            }
        }
        _namespaces.Clear();
    }
}
