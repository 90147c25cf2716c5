using System.Buffers.Binary;
using System.Text;
using RtUdp.Core.Capabilities;
using RtUdp.Core.Native;

namespace RtUdp.Core.Tests.Capabilities;

/// <summary>The rtnetlink dump parser on hand-built datagrams, including multi-part dumps and NLMSG_ERROR.</summary>
public sealed class QdiscParseTests
{
    private const uint Seq = 7;

    [Fact]
    public void Multi_part_dump_is_collected_until_NLMSG_DONE()
    {
        byte[] first = Datagram(
            NewQdisc(ifindex: 1, handle: 0, parent: Libc.TC_H_ROOT, "noqueue"),
            NewQdisc(ifindex: 2, handle: 0x80010000, parent: Libc.TC_H_ROOT, "mq"));
        byte[] second = Datagram(
            NewQdisc(ifindex: 2, handle: 0x80020000, parent: 0x80010001, "fq"),
            Message(Libc.NLMSG_DONE, Libc.NLM_F_MULTI, Int32(0)));

        QdiscDumpPart a = QdiscReader.Parse(first, Seq);
        Assert.False(a.Done);
        Assert.Equal(0, a.Error);
        Assert.Equal(["noqueue", "mq"], a.Qdiscs.Select(q => q.Kind));
        Assert.Equal("root", a.Qdiscs[0].ParentId);
        Assert.Equal("8001:", a.Qdiscs[1].HandleId);

        QdiscDumpPart b = QdiscReader.Parse(second, Seq);
        Assert.True(b.Done);
        Assert.Equal(0, b.Error);
        QdiscInfo fq = Assert.Single(b.Qdiscs);
        Assert.Equal(new QdiscInfo(2, "fq", 0x80020000, 0x80010001), fq);
        Assert.Equal("8001:1", fq.ParentId);

        LaunchTimeQdisc? launch = QdiscReader.FindLaunchTimeQdisc([.. a.Qdiscs, .. b.Qdiscs]);
        Assert.Equal(new LaunchTimeQdisc(LaunchTimeQdiscKind.Fq, LaunchTimeClock.ClockMonotonic, "8002:"), launch);
    }

    [Fact]
    public void NLMSG_ERROR_ends_the_dump_with_its_errno()
    {
        byte[] datagram = Datagram(
            NewQdisc(ifindex: 1, handle: 0, parent: Libc.TC_H_ROOT, "noqueue"),
            Message(Libc.NLMSG_ERROR, 0, [.. Int32(-Errno.EPERM), .. new byte[16]]));

        QdiscDumpPart part = QdiscReader.Parse(datagram, Seq);
        Assert.True(part.Done);
        Assert.Equal(Errno.EPERM, part.Error);
        Assert.Single(part.Qdiscs);
    }

    [Fact]
    public void Messages_of_another_sequence_are_skipped()
    {
        byte[] datagram = Datagram(
            Message(Libc.RTM_NEWQDISC, Libc.NLM_F_MULTI, QdiscPayload(3, 0, Libc.TC_H_ROOT, "etf", null), seq: 99),
            Message(Libc.NLMSG_DONE, Libc.NLM_F_MULTI, Int32(0), seq: 99),
            NewQdisc(ifindex: 1, handle: 0, parent: Libc.TC_H_ROOT, "noqueue"));

        QdiscDumpPart part = QdiscReader.Parse(datagram, Seq);
        Assert.False(part.Done);
        Assert.Equal("noqueue", Assert.Single(part.Qdiscs).Kind);
    }

    [Fact]
    public void Etf_and_taprio_options_are_decoded()
    {
        byte[] etfParms = [.. Int32(200_000), .. Int32(Libc.CLOCK_TAI), .. Int32((int)(Libc.TC_ETF_DEADLINE_MODE_ON | Libc.TC_ETF_OFFLOAD_ON))];
        byte[] etfOptions = Attribute(Libc.TCA_ETF_PARMS, etfParms);
        byte[] taprioOptions = [
            .. Attribute(Libc.TCA_TAPRIO_ATTR_SCHED_CLOCKID, Int32(Libc.CLOCK_TAI)),
            .. Attribute(Libc.TCA_TAPRIO_ATTR_FLAGS, Int32((int)Libc.TCA_TAPRIO_ATTR_FLAG_TXTIME_ASSIST)),
        ];
        byte[] datagram = Datagram(
            Message(Libc.RTM_NEWQDISC, Libc.NLM_F_MULTI, QdiscPayload(4, 0x01000000, Libc.TC_H_ROOT, "taprio", taprioOptions)),
            Message(Libc.RTM_NEWQDISC, Libc.NLM_F_MULTI, QdiscPayload(4, 0x80030000, 0x01000001, "etf", etfOptions)),
            Message(Libc.NLMSG_DONE, Libc.NLM_F_MULTI, Int32(0)));

        QdiscDumpPart part = QdiscReader.Parse(datagram, Seq);
        Assert.True(part.Done);
        QdiscInfo taprio = part.Qdiscs[0];
        QdiscInfo etf = part.Qdiscs[1];
        Assert.True(taprio.TxtimeAssist);
        Assert.Equal(Libc.CLOCK_TAI, taprio.ClockId);
        Assert.Equal(Libc.CLOCK_TAI, etf.ClockId);
        Assert.Equal(Libc.TC_ETF_DEADLINE_MODE_ON | Libc.TC_ETF_OFFLOAD_ON, etf.Flags);

        Assert.True(QdiscReader.HasLaunchTimeQdisc(part.Qdiscs, out LaunchTimeQdisc? launch));
        Assert.Equal(new LaunchTimeQdisc(LaunchTimeQdiscKind.Etf, LaunchTimeClock.ClockTai, "8003:", Offload: true), launch);
        Assert.Equal(LaunchTimeQdiscKind.Taprio, QdiscReader.FindLaunchTimeQdisc([taprio])!.Kind);
        Assert.Null(QdiscReader.FindLaunchTimeQdisc([taprio with { Flags = Libc.TCA_TAPRIO_ATTR_FLAG_FULL_OFFLOAD }]));
    }

    [Fact]
    public void An_interrupted_dump_is_flagged()
    {
        byte[] datagram = Datagram(
            Message(Libc.RTM_NEWQDISC, Libc.NLM_F_MULTI | Libc.NLM_F_DUMP_INTR, QdiscPayload(1, 0, Libc.TC_H_ROOT, "noqueue", null)),
            Message(Libc.NLMSG_DONE, Libc.NLM_F_MULTI, Int32(0)));

        QdiscDumpPart part = QdiscReader.Parse(datagram, Seq);
        Assert.True(part.Done);
        Assert.True(part.Interrupted);
        Assert.False(QdiscReader.Parse(NewQdisc(1, 0, Libc.TC_H_ROOT, "noqueue"), Seq).Interrupted);
    }

    [Fact]
    public void Truncated_messages_are_rejected()
    {
        byte[] message = NewQdisc(ifindex: 1, handle: 0, parent: Libc.TC_H_ROOT, "noqueue");
        Assert.Throws<InvalidDataException>(() => QdiscReader.Parse(message.AsSpan(0, message.Length - 4), Seq));

        byte[] badAttribute = Message(Libc.RTM_NEWQDISC, 0, [.. QdiscPayload(1, 0, 0, "x", null), .. new byte[] { 200, 0, 1, 0 }]);
        Assert.Throws<InvalidDataException>(() => QdiscReader.Parse(badAttribute, Seq));
    }

    private static byte[] NewQdisc(int ifindex, uint handle, uint parent, string kind) =>
        Message(Libc.RTM_NEWQDISC, Libc.NLM_F_MULTI, QdiscPayload(ifindex, handle, parent, kind, null));

    private static byte[] QdiscPayload(int ifindex, uint handle, uint parent, string kind, byte[]? options)
    {
        var tcmsg = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(tcmsg.AsSpan(4), ifindex);
        BinaryPrimitives.WriteUInt32LittleEndian(tcmsg.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt32LittleEndian(tcmsg.AsSpan(12), parent);
        byte[] kindAttr = Attribute(Libc.TCA_KIND, [.. Encoding.ASCII.GetBytes(kind), 0]);
        return options is null ? [.. tcmsg, .. kindAttr] : [.. tcmsg, .. kindAttr, .. Attribute(Libc.TCA_OPTIONS, options)];
    }

    private static byte[] Attribute(ushort type, byte[] value)
    {
        int length = 4 + value.Length;
        var attr = new byte[(length + 3) & ~3];
        BinaryPrimitives.WriteUInt16LittleEndian(attr, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(attr.AsSpan(2), type);
        value.CopyTo(attr, 4);
        return attr;
    }

    private static byte[] Message(ushort type, ushort flags, byte[] payload, uint seq = Seq)
    {
        int length = 16 + payload.Length;
        var message = new byte[(length + 3) & ~3];
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), seq);
        payload.CopyTo(message, 16);
        return message;
    }

    private static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return bytes;
    }

    private static byte[] Datagram(params byte[][] messages) => [.. messages.SelectMany(m => m)];
}
