using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.ShmClient;
using RtUdp.Native.Handles;

namespace RtUdp.Native.Exports;

/// <summary>rtudp_connect, rtudp_disconnect, rtudp_attach: the calls that talk to the broker (they may allocate).</summary>
internal static unsafe class ClientExports
{
    [UnmanagedCallersOnly(EntryPoint = "rtudp_connect", CallConvs = [typeof(CallConvCdecl)])]
    internal static int Connect(byte* socketPath, void** client)
    {
        if (client is null)
        {
            return Failure.Invalid("rtudp_connect: out is NULL"u8);
        }
        *client = null;
        try
        {
            // NULL: the client classes look where rtudpctl looks ($RTUDP_SHM_SOCKET, beside $RTUDP_SOCKET, the defaults).
            string? path = socketPath is null ? null : Marshal.PtrToStringUTF8((nint)socketPath);
            ShmClient connection = ShmClient.Connect(path);
            *client = HandleTable.Allocate(new NativeClient(connection));
            return (int)ShmStatus.Ok;
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rtudp_disconnect", CallConvs = [typeof(CallConvCdecl)])]
    internal static void Disconnect(void* client)
    {
        try
        {
            if (HandleTable.Resolve<NativeClient>(client) is not { } owner)
            {
                return;
            }
            foreach (NativeChannel channel in owner.TakeAll())
            {
                try
                {
                    _ = channel.Attachment.Detach();
                }
                catch (Exception e)
                {
                    // The connection closing below detaches it in the daemon anyway; keep the reason for the caller.
                    _ = Failure.Of(e);
                }
                HandleTable.Free(channel.Handle);
            }
            owner.Connection.Dispose();
            HandleTable.Free(client);
        }
        catch (Exception e)
        {
            _ = Failure.Of(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "rtudp_attach", CallConvs = [typeof(CallConvCdecl)])]
    internal static int Attach(void* client, byte* channelName, uint flags, void** channel)
    {
        if (channel is null)
        {
            return Failure.Invalid("rtudp_attach: out is NULL"u8);
        }
        *channel = null;
        try
        {
            if (HandleTable.Resolve<NativeClient>(client) is not { } owner)
            {
                return Failure.Invalid("rtudp_attach: client is NULL"u8);
            }
            if (channelName is null)
            {
                return Failure.Invalid("rtudp_attach: channel is NULL"u8);
            }
            if ((flags & ~(ShmAbi.AttachSend | ShmAbi.AttachReceive)) != 0)
            {
                return LastError.Set((int)ShmStatus.Invalid,
                    $"rtudp_attach: flags 0x{flags:x}: only RTUDP_ATTACH_SEND (1) and RTUDP_ATTACH_RECEIVE (2) are defined");
            }
            string name = Marshal.PtrToStringUTF8((nint)channelName) ?? "";
            // Each attachment has a broker connection of its own (ShmClient): threads may attach at once.
            ShmAttachment attachment = owner.Connection.Attach(name, flags);
            var attached = new NativeChannel(owner, attachment);
            attached.Handle = HandleTable.Allocate(attached);
            owner.Add(attached);
            *channel = attached.Handle;
            return (int)ShmStatus.Ok;
        }
        catch (Exception e)
        {
            return Failure.Of(e);
        }
    }
}
