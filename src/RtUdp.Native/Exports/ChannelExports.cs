using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.ShmClient;
using RtUdp.Native.Abi;
using RtUdp.Native.Handles;

namespace RtUdp.Native.Exports;

/// <summary>
/// The calls on one attachment. rtudp_send, rtudp_send_batch, rtudp_receive and rtudp_stats_get allocate nothing,
/// failures included (messages are literals or formatted into the thread's buffer); rtudp_detach talks to the broker.
/// </summary>
internal static unsafe class ChannelExports
{
    [UnmanagedCallersOnly(EntryPoint = "rtudp_send", CallConvs = [typeof(CallConvCdecl)])]
    internal static int Send(void* channel, byte* data, uint length, long timeNs, long packetId, uint flags)
    {
        try
        {
            if (HandleTable.Resolve<NativeChannel>(channel) is not { } ch)
            {
                return Failure.Invalid("rtudp_send: ch is NULL"u8);
            }
            if (Check(ch.Attachment, data, length, flags) is int refused and < 0)
            {
                return refused;
            }
            ShmStatus status = ch.Attachment.TrySend(new ReadOnlySpan<byte>(data, (int)length), timeNs, packetId, flags);
            return status == ShmStatus.Ok ? (int)ShmStatus.Ok : Refused(ch.Attachment, status, length);
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    /// <summary>Writes the packets in order (TryWrite each), then publishes them with one release store (Publish).</summary>
    [UnmanagedCallersOnly(EntryPoint = "rtudp_send_batch", CallConvs = [typeof(CallConvCdecl)])]
    internal static int SendBatch(void* channel, RtUdpPacket* packets, uint count)
    {
        try
        {
            if (HandleTable.Resolve<NativeChannel>(channel) is not { } ch)
            {
                return Failure.Invalid("rtudp_send_batch: ch is NULL"u8);
            }
            if (packets is null && count > 0)
            {
                return Failure.Invalid("rtudp_send_batch: packets is NULL"u8);
            }
            ShmAttachment attachment = ch.Attachment;
            int taken = 0;
            int refused = 0;
            // count is at most uint.MaxValue; what is returned is an int: stop before it would overflow.
            int limit = (int)Math.Min(count, int.MaxValue);
            for (; taken < limit; taken++)
            {
                RtUdpPacket* p = packets + taken;
                if ((refused = Check(attachment, (byte*)p->Data, p->Length, p->Flags)) < 0)
                {
                    break;
                }
                ShmStatus status = attachment.TryWrite(new ReadOnlySpan<byte>(p->Data, (int)p->Length), p->TimeNs, p->PacketId, p->Flags);
                if (status != ShmStatus.Ok)
                {
                    refused = Refused(attachment, status, p->Length);
                    break;
                }
            }
            if (taken > 0)
            {
                attachment.Publish();
            }
            // A full ring is not an error: the count says how far it got (0 included). Another refusal is, when nothing was taken.
            return taken > 0 || refused == (int)ShmStatus.Again ? taken : refused;
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rtudp_receive", CallConvs = [typeof(CallConvCdecl)])]
    internal static int Receive(void* channel, byte* buffer, uint capacity, long timeoutNs, RtUdpRxInfo* info)
    {
        try
        {
            if (HandleTable.Resolve<NativeChannel>(channel) is not { } ch)
            {
                return Failure.Invalid("rtudp_receive: ch is NULL"u8);
            }
            if (buffer is null && capacity > 0)
            {
                return Failure.Invalid("rtudp_receive: buffer is NULL"u8);
            }
            var destination = new Span<byte>(buffer, (int)Math.Min(capacity, int.MaxValue));
            int result = ch.Attachment.Receive(destination, timeoutNs, out RxRecordInfo record);
            if (info is not null && (result >= 0 || result == (int)ShmStatus.Buffer))
            {
                // On RTUDP_E_BUFFER too: its length says how large a buffer the packet needs.
                Copy(record, info);
            }
            return result >= 0 ? result : Refused(ch.Attachment, (ShmStatus)result, capacity);
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rtudp_stats_get", CallConvs = [typeof(CallConvCdecl)])]
    internal static int StatsGet(void* channel, ShmStats* stats)
    {
        try
        {
            if (HandleTable.Resolve<NativeChannel>(channel) is not { } ch)
            {
                return Failure.Invalid("rtudp_stats_get: ch is NULL"u8);
            }
            if (stats is null)
            {
                return Failure.Invalid("rtudp_stats_get: out is NULL"u8);
            }
            // ShmStats is laid out as rtudp_stats (HeaderLayoutTests checks it against rtudp.h).
            *stats = ch.Attachment.ReadStats();
            return (int)ShmStatus.Ok;
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rtudp_detach", CallConvs = [typeof(CallConvCdecl)])]
    internal static int Detach(void* channel)
    {
        try
        {
            if (HandleTable.Resolve<NativeChannel>(channel) is not { } ch)
            {
                return Failure.Invalid("rtudp_detach: ch is NULL"u8);
            }
            // Freed whatever the daemon answers: C must not use it again (rtudp.h).
            ch.Owner.Remove(ch);
            ShmStatus status;
            try
            {
                status = ch.Attachment.Detach();
            }
            finally
            {
                HandleTable.Free(ch.Handle);
            }
            return status == ShmStatus.Ok ? (int)ShmStatus.Ok : Failure.Of(status, ch.Attachment.LastMessage);
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    /// <summary>The ring's record as rtudp_rx_info (a different order: the ABI groups its fields as C programs read them).</summary>
    private static void Copy(in RxRecordInfo record, RtUdpRxInfo* info)
    {
        info->Length = (uint)record.Length;
        info->StampSource = record.StampSource;
        info->KernelRealtimeNs = record.KernelRealtimeNs;
        info->HardwareRawNs = record.HardwareRawNs;
        info->BestMonotonicNs = record.BestMonotonicNs;
        info->WorkerMonotonicNs = record.WorkerMonotonicNs;
        for (int i = 0; i < 16; i++)
        {
            info->SourceAddr[i] = record.SourceAddress[i];
        }
        info->SourcePort = record.SourcePort;
        info->SourceFamily = record.SourceFamily;
        info->Flags = (uint)record.Flags;
        info->Sequence = record.Sequence;
    }

    /// <summary>What the ABI refuses before the ring is touched: NULL data with a length, a length beyond any payload.</summary>
    private static int Check(ShmAttachment attachment, byte* data, uint length, uint flags)
    {
        if (data is null && length > 0)
        {
            return Failure.Invalid("data is NULL with a nonzero length"u8);
        }
        if (length > attachment.MaxPayload)
        {
            return Refused(attachment, ShmStatus.TooLarge, length);
        }
        if ((flags & ~ShmAbi.SendImmediate) != 0)
        {
            var message = new Message();
            message.Append("flags 0x"u8);
            message.AppendHex(flags);
            message.Append(": only RTUDP_SEND_IMMEDIATE (1) is defined"u8);
            return message.End((int)ShmStatus.Invalid);
        }
        return (int)ShmStatus.Ok;
    }

    /// <summary>The code and message of a refused call, formatted without allocating.</summary>
    private static int Refused(ShmAttachment attachment, ShmStatus status, uint length)
    {
        switch (status)
        {
            case ShmStatus.TooLarge:
            {
                var message = new Message();
                message.Append("payload of "u8);
                message.Append(length);
                message.Append(" bytes is over the channel's max payload ("u8);
                message.Append(attachment.MaxPayload);
                message.Append(" bytes)"u8);
                return message.End((int)status);
            }
            case ShmStatus.Buffer:
            {
                var message = new Message();
                message.Append("the packet is larger than the receive buffer ("u8);
                message.Append(length);
                message.Append(" bytes); it stays in the ring, rtudp_rx_info.length says how large it is"u8);
                return message.End((int)status);
            }
            case ShmStatus.Again:
                // The common refusal on the hot path: a literal, never a message left by an earlier call.
                return Failure.Of(status, StatusText.Of(status));
            default:
                return Failure.Of(status, attachment.LastMessage);
        }
    }
}
