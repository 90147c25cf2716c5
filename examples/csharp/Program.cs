// The original RtUdp example with RtUdp.Client: RtUdp(local, remote, cpu, capacity, direction) + init_socket +
// start, send_data(bytes, ts) 1 ms ahead, receive_data(timeout), get_packet_stats, stop, close_socket.
// usage: seed-flow [SOCKET | http://HOST:PORT]   (default: rtudpd's default unix socket, or $RTUDP_SOCKET)
using System.Text;
using RtUdp.Client;
using RtUdp.V1;

using RtUdpClient client = RtUdpClient.Connect(args.Length > 0 ? DaemonAddress.Parse(args[0]) : DaemonAddress.Default());
string suffix = $"{Environment.ProcessId}-{Environment.TickCount64 % 100000}";

// RtUdp(...) + init_socket: bind both channels (port 0: the kernel's choice); start: run their workers.
Channel rx = await client.CreateReceiverAsync($"cs-rx-{suffix}", new Endpoint { Address = "127.0.0.1", Port = 0 },
    c => { c.Capacity = 1024; c.Priority = 0; }, start: false);
Channel tx = await client.CreateSenderAsync($"cs-tx-{suffix}", rx.BoundLocal,
    configure: c => { c.Capacity = 1024; c.Priority = 0; c.SendCpu = -1; }, start: false);
rx = await client.StartChannelAsync(rx.Name);
tx = await client.StartChannelAsync(tx.Name);
Console.WriteLine($"receiver {rx.Name} on port {rx.BoundLocal.Port}; sender {tx.Name}");

try
{
    // send_data(bytes, ts): ts in the daemon host's CLOCK_MONOTONIC, mapped from this process's clock.
    EngineClock clock = await client.SynchronizeClockAsync();
    long due = clock.EngineNowNs() + 1_000_000;
    SendResponse sent = await client.SendAsync(tx.Name, Encoding.UTF8.GetBytes("hello from C#"), SendTime.AtMonotonic(due));
    Console.WriteLine($"enqueued {sent.Accepted}, due at {sent.FirstDueMonotonicNs} ns (clock offset {clock.OffsetNs} ns ± {clock.ErrorBoundNs} ns)");

    // receive_data(timeout)
    IReadOnlyList<ReceivedPacket> got = await client.ReceiveAsync(rx.Name, maxCount: 1, timeout: TimeSpan.FromSeconds(2));
    if (got.Count == 0)
    {
        Console.Error.WriteLine("nothing received within 2 s");
        return 1;
    }
    ReceivedPacket packet = got[0];
    Console.WriteLine($"received '{packet.Payload.ToStringUtf8()}' from {packet.Source.Address}:{packet.Source.Port}, {packet.MonotonicNs - due} ns after its time ({packet.StampSource} stamp)");

    // get_packet_stats: the sender's counters settle once the engine has sent the packet.
    ChannelStats stats = await client.GetStatsAsync(tx.Name);
    for (int i = 0; i < 500 && stats.Tx.Sent < 1; i++)
    {
        await Task.Delay(10);
        stats = await client.GetStatsAsync(tx.Name);
    }
    Histogram histogram = await client.GetHistogramAsync(tx.Name, HistogramKind.SendError, [50, 99, 100]);
    Console.WriteLine($"sender stats: sent {stats.Tx.Sent}, late {stats.Tx.Late}, balanced {stats.Tx.Balanced}; send error "
        + string.Join(", ", histogram.Percentiles.Select(p => $"p{p.Percentile_}={p.ValueNs} ns")));
    if (stats.Tx.Sent != 1 || !stats.Tx.Balanced || packet.Payload.ToStringUtf8() != "hello from C#")
    {
        return 1;
    }

    // A refused call: sending on the receiving channel.
    try
    {
        await client.SendAsync(rx.Name, "x"u8.ToArray());
    }
    catch (RtUdpException e)
    {
        Console.WriteLine($"send on the receiver: {e.StatusCode}");
    }
}
finally
{
    // stop + close_socket
    foreach (Channel c in new[] { tx, rx })
    {
        await client.StopChannelAsync(c.Name);
        await client.DeleteChannelAsync(c.Name);
    }
}
Console.WriteLine("OK");
return 0;
