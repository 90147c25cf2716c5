using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using RtUdp.V1;

namespace RtUdp.Daemon.Tests.Reliability;

/// <summary>
/// Random and boundary values for every request field, from a seeded <see cref="Random"/>. Sizes stay small
/// where a valid value would allocate a lot (the machine is shared): capacities and rings are either small
/// and valid or beyond the documented maximum; priorities other than 0 are invalid ones.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RequestFuzzer(Random random, IReadOnlyList<string> existing)
{
    private static readonly string[] Addresses = ["127.0.0.1", "::1", "0.0.0.0", "", "localhost", "256.0.0.1", "1.2.3.4", "::ffff:127.0.0.1", "127.0.0.1:80", "fe80::1%lo", "\u0000", "x".PadRight(300, 'x')];
    private static readonly int[] Ints = [int.MinValue, -1, 0, 1, 2, 63, 64, 65, 1024, 9000, 65507, 65508, 16_777_216, 16_777_217, int.MaxValue];
    private static readonly long[] Longs = [long.MinValue, -1, 0, 1, 999, 1023, 1024, 1025, 4096, 10_000, 100_000, 1_000_000, 100_000_000, 1L << 30 | 1, 1L << 40, 10_000_000_001, long.MaxValue];

    public Random Random => random;

    public bool Chance(double p) => random.NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> values) => values[random.Next(values.Count)];

    /// <summary>An existing channel's name, a well-formed name of none, or garbage.</summary>
    public string Name() => random.Next(6) switch
    {
        0 or 1 => Pick(existing),
        2 => "channels/" + Id(),
        3 => Id(),
        4 => "",
        _ => Garbage(),
    };

    public string Id() => random.Next(5) switch
    {
        0 => "fuzz-" + random.Next(1000),
        1 => "",
        2 => new string('a', random.Next(60, 70)),
        3 => "UPPER/../x",
        _ => Garbage(),
    };

    public string Garbage()
    {
        int length = random.Next(0, 40);
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            chars[i] = random.Next(4) switch
            {
                0 => (char)random.Next(0, 32),
                1 => (char)random.Next(0xD800, 0xDFFF), // lone surrogates: not valid UTF-16, protobuf writes U+FFFD
                2 => "/.-_:%"[random.Next(6)],
                _ => (char)random.Next(32, 0x3000),
            };
        }
        return new string(chars);
    }

    public int Int() => Chance(0.7) ? Pick(Ints) : random.Next(int.MinValue, int.MaxValue);

    public long Long() => Chance(0.7) ? Pick(Longs) : random.NextInt64(long.MinValue, long.MaxValue);

    public TEnum Enum<TEnum>()
        where TEnum : struct, System.Enum => (TEnum)(object)(Chance(0.8) ? random.Next(0, 6) : random.Next(int.MinValue, int.MaxValue));

    public Endpoint Endpoint() => new() { Address = Pick(Addresses), Port = Chance(0.5) ? 0 : Pick(new uint[] { 1, 9, 65535, 65536, uint.MaxValue }) };

    public Channel Channel()
    {
        var c = new Channel { Direction = Enum<ChannelDirection>() };
        if (Chance(0.9)) { c.Local = Endpoint(); }
        if (Chance(0.6)) { c.Remote = Endpoint(); }
        if (Chance(0.5)) { c.Capacity = Pick(new[] { -1, 0, 1, 2, 1024, 16_777_217, int.MaxValue, int.MinValue }); }
        if (Chance(0.5)) { c.MaxPayload = Pick(new[] { -1, 0, 1, 64, 65507, 65508, int.MaxValue }); }
        if (Chance(0.4)) { c.TxRingBytes = Pick(new[] { -1L, 0, 1023, 1024, 1025, 4096, (1L << 30) + 1, 1L << 40, long.MaxValue }); }
        if (Chance(0.4)) { c.RxRingBytes = Pick(new[] { -1L, 0, 1023, 1024, 3000, 65536, (1L << 31), long.MinValue }); }
        if (Chance(0.4)) { c.SendCpu = Pick(new[] { -2, -1, 0, 1, 1000, int.MaxValue }); }
        if (Chance(0.4)) { c.ReceiveCpu = Pick(new[] { -2, -1, 0, 1, 1000, int.MinValue }); }
        c.Priority = Chance(0.8) ? 0 : Pick(new[] { -1, 100, int.MaxValue, int.MinValue });
        c.Timing = Enum<TimingStrategy>();
        if (Chance(0.4)) { c.SpinMarginNs = Long(); }
        c.LatePolicy = Enum<LatePolicy>();
        if (Chance(0.4)) { c.LateToleranceNs = Long(); }
        if (Chance(0.4)) { c.BatchSize = Pick(new[] { -1, 0, 1, 64, 65, int.MaxValue }); }
        if (Chance(0.4)) { c.SocketBufferBytes = Pick(new[] { -1, 0, 4096, int.MaxValue }); }
        for (int i = random.Next(3); i > 0; i--)
        {
            c.Flags.Add(Enum<ChannelFlag>());
        }
        c.Timestamps = Enum<V1.TimestampMode>();
        c.LaunchTime = Enum<LaunchTimeMode>();
        if (Chance(0.3)) { c.LaunchLeadNs = Long(); }
        if (Chance(0.3)) { c.HardwareStampTimeoutNs = Long(); }
        if (Chance(0.2)) { c.State = Enum<V1.ChannelState>(); }
        if (Chance(0.1)) { c.Name = Garbage(); }
        return c;
    }

    /// <summary>A valid small channel with one field set to a random boundary value (so some creates succeed).</summary>
    public Channel NearlyValidChannel()
    {
        var c = new Channel
        {
            Direction = Chance(0.5) ? ChannelDirection.Receive : ChannelDirection.Send,
            Local = new Endpoint { Address = "127.0.0.1", Port = 0 },
            Remote = new Endpoint { Address = "127.0.0.1", Port = 9 },
            Capacity = 16,
            MaxPayload = 64,
            Priority = 0,
        };
        switch (random.Next(8))
        {
            case 0: c.Capacity = Pick(new[] { 1, 2, 1024, 0, -1 }); break;
            case 1: c.MaxPayload = Pick(new[] { 1, 65507, 0, 65508 }); break;
            case 2: c.BatchSize = Pick(new[] { 1, 64, 0, 65 }); break;
            case 3: c.SpinMarginNs = Pick(new[] { 0L, 100_000_000, 100_000_001, -1 }); break;
            case 4: c.LateToleranceNs = Pick(new[] { 0L, 10_000_000_000, 10_000_000_001 }); break;
            case 5: c.Timestamps = Enum<V1.TimestampMode>(); break;
            case 6: c.Local = new Endpoint { Address = Pick(new[] { "::1", "0.0.0.0", "127.0.0.2" }), Port = 0 }; c.Remote = null; c.Direction = ChannelDirection.Receive; break;
            default: c.RxRingBytes = Pick(new[] { 1024L, 4096, 1000 }); c.Direction = ChannelDirection.Receive; break;
        }
        return c;
    }

    public Timestamp Timestamp() => Chance(0.5)
        ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow.AddMilliseconds(random.Next(-1000, 2000)))
        : new Timestamp { Seconds = Long(), Nanos = Int() };

    public Duration Duration(TimeSpan validMax) => random.Next(4) switch
    {
        0 => Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromTicks(random.NextInt64(0, validMax.Ticks + 1))),
        1 => new Duration { Seconds = Long(), Nanos = Int() },
        // Boundaries beyond the documented ranges (Receive: 60 s, WatchStats: 1 h) and of Duration itself; a valid
        // wait of a minute would only test the caller's patience (the call's deadline).
        2 => new Duration { Seconds = Pick(new long[] { -1, 0, 61, 3601, 315_576_000_000, 315_576_000_001, long.MaxValue }), Nanos = Pick(new[] { -1, 0, 999_999_999, 1_000_000_000 }) },
        _ => new Duration(),
    };

    public OutgoingPacket Packet()
    {
        int length = random.Next(6) switch
        {
            0 => 0,
            1 => 2048,
            2 => 2049,
            3 => 65508,
            _ => random.Next(1, 200),
        };
        byte[] payload = new byte[length];
        random.NextBytes(payload);
        var packet = new OutgoingPacket { Payload = ByteString.CopyFrom(payload), PacketId = Long() };
        switch (random.Next(6))
        {
            case 0: packet.MonotonicNs = Chance(0.5) ? RtUdp.Core.Native.Libc.MonotonicNow() + random.NextInt64(-1_000_000_000, 100_000_000) : Long(); break;
            case 1: packet.Realtime = Timestamp(); break;
            case 2: packet.Tai = Timestamp(); break;
            case 3: packet.Delay = Duration(TimeSpan.FromMilliseconds(50)); break;
            default: break;
        }
        return packet;
    }

    public IEnumerable<OutgoingPacket> Packets()
    {
        int count = random.Next(5) switch
        {
            0 => 0,
            1 => random.Next(100, 1100),
            _ => random.Next(1, 8),
        };
        for (int i = 0; i < count; i++)
        {
            yield return Packet();
        }
    }

    /// <summary>Bytes that are not (or not quite) a protobuf message: random, truncated varints and lengths, wrong wire types, deep nesting, group tags.</summary>
    public byte[] Malformed()
    {
        switch (random.Next(7))
        {
            case 0:
                {
                    byte[] bytes = new byte[random.Next(1, 256)];
                    random.NextBytes(bytes);
                    return bytes;
                }
            case 1: return [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]; // field 1, length 4 GiB, no body
            case 2: return [0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]; // an 11-byte varint
            case 3: return [0x0B, 0x0B, 0x0B]; // start-group tags never ended
            case 4: return [.. Enumerable.Repeat(new byte[] { 0x12, 0x7F }, 150).SelectMany(b => b)]; // nested length-delimited beyond the recursion limit
            case 5: return [0x0A, 0x05, 0x41]; // a string field shorter than its length
            default: return [0x0A, 0x02, 0xC3, 0x28]; // field 1 as a string of invalid UTF-8
        }
    }
}
