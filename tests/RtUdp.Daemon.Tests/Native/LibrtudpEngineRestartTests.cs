using System.Diagnostics;
using System.Globalization;
using RtUdp.Core.Contract.Clients;
using RtUdp.Daemon.Tests.Api;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// A C client attached through librtudp while the engine dies and rtudpd starts another: its region is handed to the
/// new engine (epoch bumped, state attached again) and what it sends afterwards leaves, every packet counted. A daemon
/// of its own (the engine is killed).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LibrtudpEngineRestartTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_c_sender_attached_across_an_engine_restart_is_reattached_and_its_later_packets_leave()
    {
        const int Count = 200;
        const int Half = Count / 2;
        await using var daemon = await OwnedDaemon.StartAsync();
        Clients api = daemon.Unix;
        Channel rx = await api.CreateReceiverAsync(Clients.UniqueId("restart-rx"));
        Channel tx = await api.CreateSenderAsync(Clients.UniqueId("restart-tx"), rx.BoundLocal);
        string broker = Path.Combine(daemon.Fixture.Root, ShmAbi.SocketFileName);

        // The first half (due over 100 ms from 20 ms on) leaves with the first engine.
        using CProgram sender = CProgram.Start(Librtudp.Program("rtudp_send"), [broker, tx.Name, $"{Count}", "64", "1000000", "20000000", "pause"]);
        await sender.WaitForLineAsync(l => l == "paused", RunTimeout, "the first half published");
        await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Half, TimeSpan.FromSeconds(10));

        // The engine dies as in a crash; rtudpd starts another and hands it the client's region.
        int pid = daemon.Fixture.EnginePid;
        using (var engine = Process.GetProcessById(pid))
        {
            engine.Kill();
        }
        await daemon.Fixture.WaitForEngineAsync(TimeSpan.FromSeconds(30), restarts: 1);
        await daemon.Fixture.WaitForLogAsync(new System.Text.RegularExpressions.Regex("reattached to " + tx.Name), TimeSpan.FromSeconds(30), "the sender reattached");

        // The second half, sent after the restart, leaves with the new engine.
        await sender.WriteLineAsync("go");
        Assert.Equal(0, await sender.WaitForExitAsync(RunTimeout));
        Dictionary<string, long> stats = CLines.Values(sender.Lines, "stats");
        Assert.True(stats["state"] == (long)ClientState.Attached && stats["engine_epoch"] >= 1 && stats["faults"] == 0, sender.Transcript);
        Assert.Contains("detach 0", sender.Lines);

        // The new engine's channel (its counters start again) took and sent the second half, all from the client ring.
        V1.ChannelStats after = await api.WaitStatsAsync(tx.Name, s => s.Tx.Sent == Half && s.Counters["clients_attached"] == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(Half, after.Counters["client_accepted"]);
        Assert.Equal(0, after.Counters["client_malformed"] + after.Counters["client_dropped_detach"]);
        Assert.True(after.Tx.Balanced, after.ToString());
        await api.DeleteAsync(tx, rx);
    }
}
