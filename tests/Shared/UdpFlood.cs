using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace RtUdp.Testing;

/// <summary>
/// Floods a UDP endpoint from a plain socket, in bursts, until the kernel has dropped datagrams at the
/// receiving socket (its receive queue full), as <see cref="ProcNetUdp"/> reports. Linked into both test projects.
/// </summary>
internal static class UdpFlood
{
    /// <summary>Bursts of <paramref name="burst"/> datagrams until the socket bound at <paramref name="target"/> has dropped some; returns how many were sent.</summary>
    public static long UntilKernelDrops(IPEndPoint target, TimeSpan timeout, int burst = 256, int payloadBytes = 200)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(target);
        byte[] payload = new byte[payloadBytes];
        long sent = 0;
        var clock = Stopwatch.StartNew();
        long baseline = ProcNetUdp.Drops(target);
        while (ProcNetUdp.Drops(target) == baseline)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{sent} datagrams sent to {target} in {timeout.TotalSeconds:0} s and the kernel dropped none at it");
            }
            for (int i = 0; i < burst; i++)
            {
                // Loopback: every datagram sent reaches the receiving socket's queue or its drop count.
                if (socket.Send(payload) != payloadBytes)
                {
                    throw new InvalidOperationException("short send");
                }
                sent++;
            }
        }
        return sent;
    }
}

/// <summary>The kernel's per-socket UDP table (/proc/net/udp, udp6) of the caller's network namespace.</summary>
internal static class ProcNetUdp
{
    /// <summary>The <c>drops</c> column (the socket's sk_drops) of the socket bound to <paramref name="local"/>.</summary>
    public static long Drops(IPEndPoint local)
    {
        string table = local.AddressFamily == AddressFamily.InterNetworkV6 ? "/proc/net/udp6" : "/proc/net/udp";
        string wanted = $"{Hex(local.Address)}:{local.Port:X4}";
        foreach (string line in File.ReadLines(table).Skip(1))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (string.Equals(fields[1], wanted, StringComparison.Ordinal))
            {
                return long.Parse(fields[^1], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no socket bound to {local} ({wanted}) in {table}");
    }

    // The kernel prints the address as 32-bit words in host byte order, each as %08X.
    private static string Hex(IPAddress address)
    {
        byte[] bytes = address.GetAddressBytes();
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < bytes.Length; i += 4)
        {
            text.Append(BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i)).ToString("X8", CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }
}
