using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Channels;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Clients;

/// <summary>
/// The TX and RX ring views over a real memfd, with the client's and the engine's views in two mappings
/// (as in two processes): records, wrap and padding, full rings, faults and malformed records.
/// </summary>
public sealed unsafe class ClientRingTests : IDisposable
{
    private const long Now = 1_000_000_000_000;

    private readonly SafeFileHandle _memfd;
    private readonly ClientRegion _client;
    private readonly ClientRegion _engine;

    public ClientRingTests()
    {
        (_memfd, _client) = ClientRegion.CreateMemfd("ring-test", ClientRegionTests.Spec(4096, 4096, 1400, horizonNs: 10_000_000_000));
        _engine = ClientRegion.Map((int)_memfd.DangerousGetHandle());
    }

    public void Dispose()
    {
        _engine.Dispose();
        _client.Dispose();
        _memfd.Dispose();
    }

    private static byte[] Payload(int length, int seed)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(seed + i);
        }
        return bytes;
    }

    [Fact]
    public void Records_go_round_many_laps_with_padding_and_arrive_intact_in_order()
    {
        ClientTxWriter writer = _client.TxWriter();
        ClientTxReader reader = _engine.TxReader();
        var random = new Random(20);
        int written = 0;
        int read = 0;
        var sizes = new Queue<int>();
        while (read < 2000)
        {
            // Batches of a few records, published once.
            int batch = random.Next(1, 6);
            for (int i = 0; i < batch; i++)
            {
                int length = random.Next(0, 1401);
                if (!writer.TryWrite(Payload(length, written), Now + written, written + 1, 0))
                {
                    break;
                }
                sizes.Enqueue(length);
                written++;
            }
            writer.Publish();
            while (reader.Peek(Now, out ClientTxPacket packet) == ClientTxRecordClass.Packet)
            {
                int expectedLength = sizes.Dequeue();
                Assert.Equal(expectedLength, packet.PayloadLength);
                Assert.Equal(Now + read, packet.DueNs);
                Assert.Equal(read + 1, packet.PacketId);
                Assert.Equal(0, packet.TxFlags);
                Assert.True(new ReadOnlySpan<byte>(packet.Payload, packet.PayloadLength).SequenceEqual(Payload(expectedLength, read)));
                reader.Advance();
                read++;
            }
            reader.Release();
            Assert.Equal(ClientTxProblem.None, reader.Fault);
        }
        Assert.True(_client.TxTail > 10 * 4096, "the ring went round many times");
        Assert.Equal(_client.TxTail, _client.TxHead);
    }

    [Fact]
    public void A_full_ring_refuses_until_the_engine_releases_and_nothing_unpublished_is_seen()
    {
        ClientTxWriter writer = _client.TxWriter();
        ClientTxReader reader = _engine.TxReader();
        int count = 0;
        while (writer.TryWrite(Payload(100, count), Now, count, 0))
        {
            count++;
        }
        Assert.Equal(4096 / ClientTxRecord.RecordLength(100), count);
        Assert.Equal(ClientTxRecordClass.Empty, reader.Peek(Now, out _));

        writer.Publish();
        Assert.Equal(ClientTxRecordClass.Packet, reader.Peek(Now, out _));
        reader.Advance();
        Assert.False(writer.TryWrite(Payload(100, 0), Now, 1, 0));
        reader.Release();
        Assert.True(writer.TryWrite(Payload(100, 0), Now, 1, 0));
    }

    [Fact]
    public void A_new_engine_continues_where_the_last_one_released_in_both_rings()
    {
        ClientTxWriter writer = _client.TxWriter();
        for (int i = 0; i < 3; i++)
        {
            Assert.True(writer.TryWrite(Payload(10, i), Now, i + 1, 0));
        }
        writer.Publish();
        ClientTxReader first = _engine.TxReader();
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(ClientTxRecordClass.Packet, first.Peek(Now, out _));
            first.Advance();
        }
        first.Release();

        // The restarted engine maps the region again and takes the third record, not the first.
        using (ClientRegion restarted = ClientRegion.Map((int)_memfd.DangerousGetHandle()))
        {
            ClientTxReader second = restarted.TxReader();
            Assert.Equal(ClientTxRecordClass.Packet, second.Peek(Now, out ClientTxPacket packet));
            Assert.Equal(3, packet.PacketId);

            ClientRxWriter rxFirst = _engine.RxWriter();
            Assert.Equal(ClientRxWriteResult.Written, rxFirst.TryWrite(RxHeader(0), Payload(10, 0)));
            rxFirst.Publish();
            ClientRxWriter rxSecond = restarted.RxWriter();
            Assert.Equal(ClientRxWriteResult.Written, rxSecond.TryWrite(RxHeader(1), Payload(10, 1)));
            rxSecond.Publish();
        }
        ClientRxReader reader = _client.RxReader();
        byte[] buffer = new byte[100];
        Assert.True(reader.TryRead(buffer, out RxRecordInfo info, out _));
        Assert.Equal(0, info.Sequence);
        Assert.True(reader.TryRead(buffer, out info, out _));
        Assert.Equal(1, info.Sequence);
        Assert.False(reader.TryRead(buffer, out _, out _));
    }

    [Fact]
    public void An_immediate_packet_is_due_now_whatever_its_time_says()
    {
        ClientTxWriter writer = _client.TxWriter();
        ClientTxReader reader = _engine.TxReader();
        Assert.True(writer.TryWrite(Payload(10, 0), -5, 9, ClientTxFlags.Immediate));
        writer.Publish();

        Assert.Equal(ClientTxRecordClass.Packet, reader.Peek(Now, out ClientTxPacket packet));
        Assert.Equal(Now, packet.DueNs);
        Assert.Equal(TxPacketFlags.Immediate, packet.TxFlags);
    }

    [Theory]
    [InlineData(1401, Now, 1L, 0, 0, ClientTxProblem.PayloadTooLarge)]
    [InlineData(10, Now, 1L, 4, 0, ClientTxProblem.UnknownFlags)]
    [InlineData(10, Now, 1L, 0, 7, ClientTxProblem.ReservedNotZero)]
    [InlineData(10, Now, -1L, 0, 0, ClientTxProblem.BadPacketId)]
    [InlineData(10, Now, 1L << 62, 0, 0, ClientTxProblem.BadPacketId)]
    [InlineData(10, 0L, 1L, 0, 0, ClientTxProblem.DueNotPositive)]
    [InlineData(10, Now + 10_000_000_001, 1L, 0, 0, ClientTxProblem.DueBeyondHorizon)]
    public void A_record_that_frames_but_is_not_acceptable_is_malformed_and_skipped(
        int length, long dueNs, long packetId, int flags, int reserved, ClientTxProblem expected)
    {
        WriteRaw(0, ClientRecordKind.Packet, length, dueNs, packetId, flags, reserved);
        WriteRaw(ClientTxRecord.RecordLength(length), ClientRecordKind.Packet, 5, Now, 2, 0, 0);
        SetTail(ClientTxRecord.RecordLength(length) + ClientTxRecord.RecordLength(5));
        ClientTxReader reader = _engine.TxReader();

        Assert.Equal(ClientTxRecordClass.Malformed, reader.Peek(Now, out ClientTxPacket bad));
        Assert.Equal(expected, bad.Problem);
        Assert.False(ClientTxProblems.IsFault(expected));
        reader.Advance();
        Assert.Equal(ClientTxRecordClass.Packet, reader.Peek(Now, out ClientTxPacket good));
        Assert.Equal(2, good.PacketId);
    }

    [Fact]
    public void A_due_time_just_within_the_horizon_is_accepted()
    {
        WriteRaw(0, ClientRecordKind.Packet, 10, Now + 10_000_000_000, 1, 0, 0);
        SetTail(ClientTxRecord.RecordLength(10));
        Assert.Equal(ClientTxRecordClass.Packet, _engine.TxReader().Peek(Now, out _));
    }

    [Theory]
    [InlineData(12, ClientTxProblem.TailMisaligned)]
    [InlineData(4096 + 8, ClientTxProblem.TailBeyondCapacity)]
    [InlineData(-8, ClientTxProblem.TailBehindHead)]
    public void An_impossible_tail_faults_the_ring(long tail, ClientTxProblem expected)
    {
        WriteRaw(0, ClientRecordKind.Packet, 10, Now, 1, 0, 0);
        SetTail(tail);
        ClientTxReader reader = _engine.TxReader();

        Assert.Equal(ClientTxRecordClass.Faulted, reader.Peek(Now, out ClientTxPacket packet));
        Assert.Equal(expected, packet.Problem);
        Assert.True(ClientTxProblems.IsFault(expected));
        // Faulted for good: a repaired tail is not read.
        SetTail(ClientTxRecord.RecordLength(10));
        Assert.Equal(ClientTxRecordClass.Faulted, reader.Peek(Now, out _));
    }

    [Theory]
    [InlineData(0, 10, 48, ClientTxProblem.BadKind)]
    [InlineData(7, 10, 48, ClientTxProblem.BadKind)]
    [InlineData(ClientRecordKind.Packet, -1, 48, ClientTxProblem.NegativeLength)]
    [InlineData(ClientRecordKind.Packet, 100, 48, ClientTxProblem.RecordBeyondTail)]
    [InlineData(ClientRecordKind.Packet, int.MaxValue, 48, ClientTxProblem.RecordBeyondEnd)]
    [InlineData(ClientRecordKind.Packet, 5000, 4096, ClientTxProblem.RecordBeyondEnd)]
    [InlineData(ClientRecordKind.Packet, 0, 16, ClientTxProblem.HeaderBeyondTail)]
    [InlineData(ClientRecordKind.Padding, 0, 16, ClientTxProblem.PaddingBeyondTail)]
    public void A_record_that_does_not_frame_faults_the_ring(int kind, int length, long tail, ClientTxProblem expected)
    {
        WriteRaw(0, kind, length, Now, 1, 0, 0);
        SetTail(tail);

        Assert.Equal(ClientTxRecordClass.Faulted, _engine.TxReader().Peek(Now, out ClientTxPacket packet));
        Assert.Equal(expected, packet.Problem);
    }

    [Fact]
    public void A_header_across_the_end_of_the_ring_faults()
    {
        // Consume up to 8 bytes before the end, then a packet kind there: its header cannot fit.
        SetHead(4096 - 8);
        SetTail(4096 - 8);
        WriteRaw(4096 - 8, ClientRecordKind.Packet, 0, Now, 1, 0, 0);
        SetTail(4096 + 64);

        Assert.Equal(ClientTxRecordClass.Faulted, _engine.TxReader().Peek(Now, out ClientTxPacket packet));
        Assert.Equal(ClientTxProblem.HeaderBeyondEnd, packet.Problem);
    }

    [Fact]
    public void Rx_records_arrive_with_stamps_and_source_over_many_laps()
    {
        ClientRxWriter writer = _engine.RxWriter();
        ClientRxReader reader = _client.RxReader();
        byte[] buffer = new byte[2000];
        int sequence = 0;
        int read = 0;
        var random = new Random(3);
        while (read < 500)
        {
            int batch = random.Next(1, 5);
            for (int i = 0; i < batch; i++)
            {
                RxPacketHeader header = RxHeader(sequence);
                if (writer.TryWrite(header, Payload(sequence % 1300, sequence)) != ClientRxWriteResult.Written)
                {
                    break;
                }
                sequence++;
            }
            writer.Publish();
            while (reader.TryRead(buffer, out RxRecordInfo info, out int length))
            {
                Assert.Equal(read % 1300, length);
                Assert.True(buffer.AsSpan(0, length).SequenceEqual(Payload(length, read)));
                Assert.Equal(read, info.Sequence);
                Assert.Equal(1000 + read, info.KernelRealtimeNs);
                Assert.Equal(3000 + read, info.BestMonotonicNs);
                Assert.Equal(3, info.StampSource);
                Assert.Equal(5000, info.SourcePort);
                Assert.Equal(EndpointBlock.FamilyInet, info.SourceFamily);
                Assert.Equal(0xff, info.SourceAddress[10]);
                Assert.Equal(0xff, info.SourceAddress[11]);
                Assert.Equal(127, info.SourceAddress[12]);
                Assert.Equal(9, info.SourceAddress[15]);
                read++;
            }
        }
        Assert.True(_client.RxTail > 10 * 4096);
    }

    [Fact]
    public void A_buffer_too_small_leaves_the_packet_and_a_full_ring_refuses()
    {
        ClientRxWriter writer = _engine.RxWriter();
        ClientRxReader reader = _client.RxReader();
        int written = 0;
        while (writer.TryWrite(RxHeader(written), Payload(500, written)) == ClientRxWriteResult.Written)
        {
            written++;
        }
        writer.Publish();
        Assert.Equal(4096 / ClientRxRecord.RecordLength(500), written);
        Assert.Equal(written, writer.CountUnread());

        byte[] small = new byte[100];
        Assert.False(reader.TryRead(small, out RxRecordInfo info, out int needed));
        Assert.Equal(500, needed);
        Assert.Equal(0, info.Sequence);

        byte[] large = new byte[500];
        Assert.True(reader.TryRead(large, out info, out _));
        Assert.Equal(0, info.Sequence);
        Assert.Equal(written - 1, writer.CountUnread());
        Assert.Equal(ClientRxWriteResult.Written, writer.TryWrite(RxHeader(written), Payload(500, written)));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(-4096 - 8)]
    public void A_client_head_outside_the_window_faults_the_rx_ring(long headOffset)
    {
        ClientRxWriter writer = _engine.RxWriter();
        int written = 0;
        while (writer.TryWrite(RxHeader(written), Payload(500, written)) == ClientRxWriteResult.Written)
        {
            written++;
        }
        writer.Publish();
        *(long*)(_client.Pointer + ClientRegionLayout.RxHeadOffset) = writer.Tail + headOffset;

        Assert.Equal(ClientRxWriteResult.Faulted, writer.TryWrite(RxHeader(0), Payload(500, 0)));
        Assert.True(writer.IsFaulted);
    }

    [Fact]
    public void Publish_wakes_an_intake_agent_parked_in_futex_waitv_on_the_doorbell()
    {
        ClientTxWriter writer = _client.TxWriter();
        ClientTxReader reader = _engine.TxReader();
        int ticket = _engine.IntakeWait.PrepareWait();
        Interlocked.MemoryBarrier();
        Assert.False(reader.HasPublished());
        int result = -1;
        var sleeper = new Thread(() =>
        {
            Libc.futex_waitv waiter = new()
            {
                val = (uint)ticket,
                uaddr = (ulong)_engine.TxDoorbellAddress,
                flags = Libc.FUTEX2_SIZE_U32,
            };
            result = Libc.futex_waitv_abs(&waiter, 1, Libc.MonotonicNow() + 10_000_000_000);
        });
        sleeper.Start();

        Assert.True(writer.TryWrite(Payload(10, 0), Now, 1, 0));
        writer.Publish();

        Assert.True(sleeper.Join(TimeSpan.FromSeconds(5)), "the sleeper was not woken");
        Assert.NotEqual(Errno.ETIMEDOUT, result);
        Assert.Equal(ticket + 1, *_engine.TxDoorbellAddress);
        _engine.IntakeWait.CancelWait();
        Assert.True(reader.HasPublished());
    }

    [Fact]
    public void Publish_makes_no_wake_when_the_agent_is_not_parked()
    {
        ClientTxWriter writer = _client.TxWriter();
        int before = *_engine.TxDoorbellAddress;
        Assert.True(writer.TryWrite(Payload(10, 0), Now, 1, 0));
        writer.Publish();
        Assert.Equal(before, *_engine.TxDoorbellAddress);
    }

    [Fact]
    public void A_client_waiting_for_rx_is_woken_by_publish_and_times_out_without()
    {
        ClientRxWriter writer = _engine.RxWriter();
        ClientRxReader reader = _client.RxReader();

        int ticket = reader.PrepareWait();
        Assert.False(reader.TryRead(new byte[10], out _, out _));
        Assert.False(reader.Wait(ticket, Libc.MonotonicNow() + 20_000_000));

        ticket = reader.PrepareWait();
        bool woken = false;
        var sleeper = new Thread(() => woken = _client.RxReader().Wait(ticket, Libc.MonotonicNow() + 10_000_000_000));
        sleeper.Start();
        Assert.Equal(ClientRxWriteResult.Written, writer.TryWrite(RxHeader(0), Payload(10, 0)));
        writer.Publish();
        Assert.True(sleeper.Join(TimeSpan.FromSeconds(5)));
        Assert.True(woken);
        Assert.True(reader.TryRead(new byte[10], out _, out int length));
        Assert.Equal(10, length);
    }

    private static RxPacketHeader RxHeader(int sequence)
    {
        var header = new RxPacketHeader
        {
            KernelRealtimeNs = 1000 + sequence,
            HardwareRawNs = 2000 + sequence,
            BestMonotonicNs = 3000 + sequence,
            WorkerMonotonicNs = 4000 + sequence,
            StampSource = 3,
            Sequence = sequence,
            Source = EndpointBlock.From(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.9"), 5000)),
        };
        return header;
    }

    private void WriteRaw(int index, int kind, int length, long dueNs, long packetId, int flags, int reserved)
    {
        byte* r = _client.Pointer + ClientRegionLayout.TxRingOffset + index;
        *(int*)(r + ClientTxRecord.KindOffset) = kind;
        *(int*)(r + ClientTxRecord.LengthOffset) = length;
        if (index + ClientTxRecord.HeaderLength <= 4096)
        {
            *(long*)(r + ClientTxRecord.DueNsOffset) = dueNs;
            *(long*)(r + ClientTxRecord.PacketIdOffset) = packetId;
            *(int*)(r + ClientTxRecord.FlagsOffset) = flags;
            *(int*)(r + ClientTxRecord.ReservedOffset) = reserved;
        }
    }

    private void SetTail(long tail) => Volatile.Write(ref *(long*)(_client.Pointer + ClientRegionLayout.TxTailOffset), tail);

    private void SetHead(long head) => Volatile.Write(ref *(long*)(_client.Pointer + ClientRegionLayout.TxHeadOffset), head);
}
