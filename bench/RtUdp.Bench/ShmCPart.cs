using System.Net;
using RtUdp.Core.Contract.Clients;
using RtUdp.V1;
using static RtUdp.Bench.Util;

namespace RtUdp.Bench;

/// <summary>
/// Part shm, from C: bench/c/rtudp_enqueue.c (copied beside the bench as native/rtudp_enqueue.c) compiled with gcc
/// against librtudp and run against the part's rtudpd: clock_gettime around each rtudp_send, and around each
/// rtudp_send_batch of 32 (per packet), 200,000 packets each, due 1 ms after they are written. librtudp is
/// $RTUDP_LIBRARY_DIR (its lib directory, as test.sh sets it) or artifacts/librtudp/lib, published by
/// scripts/build-librtudp.sh when missing.
/// </summary>
internal sealed partial class Parts
{
    private const int CEnqueuePackets = 200_000;

    /// <summary>The part's C rows (added by <see cref="Shm"/> after its own).</summary>
    private List<Row> CEnqueueCost(DaemonProcess daemon, IPEndPoint remote, Percentiles grpcCost)
    {
        string measure = $"enqueue cost per packet from C, p50 / p99 (ns): rtudp_send; rtudp_send_batch of 32, per packet (64 B, due 1 ms ahead, x {CEnqueuePackets:N0} each, CPU 0)";
        (string? program, string? problem) = CompileEnqueue();
        if (program is null)
        {
            return [new Row("shm", measure, "n/a: " + problem, "", "", "C <= 500 ns", "n/a")];
        }
        Channel channel = daemon.Create(NextGrpcId("shm-c-cost"), IngestChannel(remote, SendCpu, Priority));
        try
        {
            string broker = Path.Combine(daemon.Root, ShmAbi.SocketFileName);
            string? output = Run(program, [broker, channel.Name, $"{CEnqueuePackets}", "64", "1000000", "0"], TimeSpan.FromMinutes(2), out string error);
            string? line = output?.Split('\n').FirstOrDefault(l => l.StartsWith("rtudp_enqueue ", StringComparison.Ordinal));
            if (line is null)
            {
                return [new Row("shm", measure, "n/a: rtudp_enqueue failed: " + error, "", "", "C <= 500 ns", "n/a")];
            }
            Dictionary<string, string> v = KeyValues(line);
            long sendP50 = Long(v, "send_p50_ns"), sendP99 = Long(v, "send_p99_ns");
            long batchP50 = Long(v, "batch32_p50_ns_per_pkt"), batchP99 = Long(v, "batch32_p99_ns_per_pkt");
            return
            [
                new Row("shm", measure, $"{sendP50} / {sendP99}; {batchP50} / {batchP99}",
                    $"{grpcCost.P50} / {grpcCost.P99} (one unary gRPC Send per packet)",
                    $"{Ratio(grpcCost.P50, sendP50)} / {Ratio(grpcCost.P99, sendP99)} faster", "C <= 500 ns p50", Verdict(sendP50 <= 500)),
                new Row("shm", "C enqueue detail", line["rtudp_enqueue ".Length..], "", "", "", ""),
            ];
        }
        finally
        {
            daemon.Channels.DeleteChannel(new DeleteChannelRequest { Name = channel.Name });
        }
    }

    /// <summary>gcc -O2 of native/rtudp_enqueue.c against librtudp (its rtudp.h, -lrtudp, an rpath): the binary, or null and why.</summary>
    private static (string? Program, string? Problem) CompileEnqueue()
    {
        string? gcc = Which("gcc") ?? Which("cc");
        if (gcc is null)
        {
            return (null, "gcc not installed");
        }
        string? lib = Environment.GetEnvironmentVariable("RTUDP_LIBRARY_DIR");
        if (string.IsNullOrEmpty(lib))
        {
            string? repository = Repository();
            if (repository is null)
            {
                return (null, "RTUDP_LIBRARY_DIR is not set and RtUdp.sln is not above the working directory");
            }
            lib = Path.Combine(repository, "artifacts", "librtudp", "lib");
            if (!File.Exists(Path.Combine(lib, "librtudp.so.1"))
                && Run(Path.Combine(repository, "scripts", "build-librtudp.sh"), [], TimeSpan.FromMinutes(10), out string buildError) is null)
            {
                return (null, "scripts/build-librtudp.sh failed: " + buildError);
            }
        }
        string include = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(lib))!, "include");
        string binary = Path.Combine(Path.GetTempPath(), $"rtudp-bench-enqueue-{Environment.ProcessId}");
        string source = Path.Combine(AppContext.BaseDirectory, "native", "rtudp_enqueue.c");
        return Run(gcc, ["-O2", "-Wall", "-o", binary, source, "-I", include, "-L", lib, "-lrtudp", $"-Wl,-rpath,{lib}"], TimeSpan.FromSeconds(60), out string error) is null
            ? (null, "gcc failed: " + error)
            : (binary, null);
    }

    private static string? Repository()
    {
        for (DirectoryInfo? dir = new(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RtUdp.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}
