using System.Text;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.ShmClient;
using RtUdp.Daemon.Tests.Api;
using RtUdp.Native.Abi;
using RtUdp.Native.Exports;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// librtudp's promise that sending, receiving and reading stats allocate nothing, failures included (a full ring, a
/// payload too large, nothing to receive): its exports called here through the same unmanaged function pointers C
/// calls, against the real daemon, with this thread's allocated bytes read around thousands of calls. (The same C#
/// runs JIT-compiled here and NativeAOT-compiled in librtudp.so.)
/// </summary>
[Collection(DaemonCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExportAllocationTests(DaemonFixture daemon)
{
    private readonly Clients _api = new(daemon.Unix);

    [Fact]
    public async Task Send_batch_receive_and_stats_allocate_nothing_even_when_they_fail()
    {
        Channel rx = await _api.CreateReceiverAsync(Clients.UniqueId("alloc-rx"));
        Channel tx = await _api.CreateSenderAsync(Clients.UniqueId("alloc-tx"), rx.BoundLocal);
        (long[] allocated, int sent, int again) = Measure(Path.Combine(daemon.Root, ShmAbi.SocketFileName), tx.Name, rx.Name);
        Assert.True(allocated.All(bytes => bytes == 0),
            $"bytes allocated over {sent} sends that wrote and {again} refused (ring full), and 5,000 of each other call: "
            + string.Join(", ", CallNames.Zip(allocated, (name, bytes) => $"{name} {bytes}")));
        Assert.True(again > 0, "the ring never filled: the RTUDP_E_AGAIN path was not measured");
        await _api.DeleteAsync(tx, rx);
    }

    private static unsafe (long[] Allocated, int Sent, int Again) Measure(string brokerPath, string txChannel, string rxChannel)
    {
        void* client = null;
        void* sender = null;
        void* receiver = null;
        try
        {
            fixed (byte* broker = Utf8Z(brokerPath))
            fixed (byte* txName = Utf8Z(txChannel))
            fixed (byte* rxName = Utf8Z(rxChannel))
            {
                Assert.Equal(0, Connect(broker, &client));
                Assert.Equal(0, Attach(client, txName, ShmAbi.AttachSend, &sender));
                Assert.Equal(0, Attach(client, rxName, ShmAbi.AttachReceive, &receiver));
            }
            // Run every path once first (JIT, static data, the thread's message buffer), then measure a second round.
            (_, _, _, int warmUpWrong) = Round(sender, receiver);
            Assert.True(warmUpWrong == 0, $"{warmUpWrong} calls returned other than expected");
            (long[] allocated, int sent, int again, int wrong) = Round(sender, receiver);
            Assert.True(wrong == 0, $"{wrong} calls of the measured round returned other than expected");
            return (allocated, sent, again);
        }
        finally
        {
            Disconnect(client);
        }
    }

    private static readonly string[] CallNames = ["rtudp_send", "rtudp_send (too large)", "rtudp_send (bad flags)", "rtudp_send_batch", "rtudp_stats_get", "rtudp_receive (nothing)", "rtudp_last_error"];

    /// <summary>
    /// Sends until the ring has refused a few thousand times, with batches, refusals, stats and empty receives beside;
    /// each kind of call's allocated bytes are summed apart (the message names the one that allocated). No assertion
    /// inside (an assertion may allocate): calls that did not return what they should are counted.
    /// </summary>
    private static unsafe (long[] Allocated, int Sent, int Again, int Wrong) Round(void* sender, void* receiver)
    {
        byte* payload = stackalloc byte[4096];
        RtUdpPacket* batch = stackalloc RtUdpPacket[32];
        byte* buffer = stackalloc byte[4096];
        RtUdpRxInfo info;
        ShmStats stats;
        long[] allocated = new long[CallNames.Length];
        int sent = 0;
        int again = 0;
        int wrong = 0;
        // 1,000 bytes a packet, due in 10 s (nothing leaves meanwhile): a 1 MiB ring is full after about a thousand.
        long due = MonotonicNs() + 10_000_000_000;
        for (int k = 0; k < 32; k++)
        {
            batch[k] = new RtUdpPacket { Data = payload, Length = 64, TimeNs = due };
        }
        for (int i = 0; i < 5_000; i++)
        {
            long mark = GC.GetAllocatedBytesForCurrentThread();
            int rc = Send(sender, payload, 1_000, due, 0, 0);
            mark = Count(allocated, 0, mark);
            sent += rc == 0 ? 1 : 0;
            again += rc == (int)ShmStatus.Again ? 1 : 0;
            wrong += rc is 0 or (int)ShmStatus.Again ? 0 : 1;
            wrong += Send(sender, payload, 4_000, due, 0, 0) == (int)ShmStatus.TooLarge ? 0 : 1;
            mark = Count(allocated, 1, mark);
            wrong += Send(sender, payload, 10, due, 0, 0x80) == (int)ShmStatus.Invalid ? 0 : 1;
            mark = Count(allocated, 2, mark);
            wrong += SendBatch(sender, batch, 32) >= 0 ? 0 : 1;
            mark = Count(allocated, 3, mark);
            wrong += StatsGet(sender, &stats) == 0 ? 0 : 1;
            mark = Count(allocated, 4, mark);
            wrong += Receive(receiver, buffer, 4096, 0, &info) == (int)ShmStatus.Timeout ? 0 : 1;
            mark = Count(allocated, 5, mark);
            wrong += LastError()[0] != 0 ? 0 : 1;
            _ = Count(allocated, 6, mark);
        }
        return (allocated, sent, again, wrong);
    }

    private static long Count(long[] allocated, int call, long mark)
    {
        long now = GC.GetAllocatedBytesForCurrentThread();
        allocated[call] += now - mark;
        return now;
    }

    private static byte[] Utf8Z(string text) => Encoding.UTF8.GetBytes(text + "\0");

    private static unsafe long MonotonicNs() => ((delegate* unmanaged[Cdecl]<long>)&LibraryExports.MonotonicNsExport)();

    private static unsafe int Connect(byte* path, void** client) => ((delegate* unmanaged[Cdecl]<byte*, void**, int>)&ClientExports.Connect)(path, client);

    private static unsafe int Attach(void* client, byte* name, uint flags, void** channel) =>
        ((delegate* unmanaged[Cdecl]<void*, byte*, uint, void**, int>)&ClientExports.Attach)(client, name, flags, channel);

    private static unsafe void Disconnect(void* client) => ((delegate* unmanaged[Cdecl]<void*, void>)&ClientExports.Disconnect)(client);

    private static unsafe int Send(void* channel, byte* data, uint length, long timeNs, long packetId, uint flags) =>
        ((delegate* unmanaged[Cdecl]<void*, byte*, uint, long, long, uint, int>)&ChannelExports.Send)(channel, data, length, timeNs, packetId, flags);

    private static unsafe int SendBatch(void* channel, RtUdpPacket* packets, uint count) =>
        ((delegate* unmanaged[Cdecl]<void*, RtUdpPacket*, uint, int>)&ChannelExports.SendBatch)(channel, packets, count);

    private static unsafe int Receive(void* channel, byte* buffer, uint capacity, long timeoutNs, RtUdpRxInfo* info) =>
        ((delegate* unmanaged[Cdecl]<void*, byte*, uint, long, RtUdpRxInfo*, int>)&ChannelExports.Receive)(channel, buffer, capacity, timeoutNs, info);

    private static unsafe int StatsGet(void* channel, ShmStats* stats) =>
        ((delegate* unmanaged[Cdecl]<void*, ShmStats*, int>)&ChannelExports.StatsGet)(channel, stats);

    private static unsafe byte* LastError() => ((delegate* unmanaged[Cdecl]<byte*>)&LibraryExports.LastErrorExport)();
}
