using System.Runtime.InteropServices;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Engine.Send;

/// <summary>
/// What a <see cref="MessageBatch.Send"/> tells its caller as it goes. Implemented by structs, so the
/// calls are inlined and nothing allocates.
/// </summary>
public interface ISendmmsgObserver
{
    /// <summary>Just before each sendmmsg call, for the messages [<paramref name="from"/>, <paramref name="count"/>) still to go.</summary>
    /// <param name="firstAttempt">No call for this batch has been made yet, or only ones interrupted (EINTR) before sending any.</param>
    void BeforeCall(int from, int count, bool firstAttempt);

    /// <summary>The kernel took the messages [<paramref name="from"/>, <paramref name="from"/> + <paramref name="sent"/>).</summary>
    void OnSent(int from, int sent);

    /// <summary>A call sent nothing and failed with <paramref name="errorNumber"/> (whether or not it is retried).</summary>
    void OnCallFailed(int errorNumber);

    /// <summary>The message in <paramref name="slot"/> is given up: the error belongs to it, or retries ran out.</summary>
    void OnDropped(int slot, int errorNumber);
}

/// <summary>
/// A batch of outgoing datagrams as native message headers (mmsghdr, one iovec each, optionally a
/// control buffer each), allocated once, and the sendmmsg loop that sends them: EINTR is retried,
/// EAGAIN/ENOBUFS (the socket's send buffer is full) waits for room with a bounded poll, and any other
/// error drops the first unsent message, the one it belongs to, and goes on with the rest.
/// Allocates nothing after construction.
/// </summary>
public sealed unsafe class MessageBatch : IDisposable
{
    private readonly mmsghdr* _messages;
    private readonly iovec* _vectors;
    private readonly byte* _control;
    private readonly int _controlSpace;

    /// <param name="capacity">Most messages in one batch.</param>
    /// <param name="controlSpace">Bytes of control message per datagram (e.g. SCM_TXTIME), 0 for none.</param>
    public MessageBatch(int capacity, int controlSpace = 0)
    {
        Capacity = capacity;
        _controlSpace = controlSpace;
        _messages = (mmsghdr*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(mmsghdr));
        _vectors = (iovec*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(iovec));
        if (controlSpace > 0)
        {
            _control = (byte*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)controlSpace);
        }
        for (int i = 0; i < capacity; i++)
        {
            // mmsghdr.msg_hdr is a property returning a copy: write through the pointer.
            msghdr* header = (msghdr*)&_messages[i];
            header->msg_iov = &_vectors[i];
            header->msg_iovlen = 1;
            if (controlSpace > 0)
            {
                header->msg_control = _control + (i * controlSpace);
                header->msg_controllen = controlSpace;
            }
        }
    }

    public int Capacity { get; }

    /// <summary>Points the slot's datagram at <paramref name="length"/> bytes at <paramref name="data"/> (not copied).</summary>
    public void SetPayload(int slot, byte* data, int length)
    {
        _vectors[slot].iov_base = data;
        _vectors[slot].iov_len = (size_t)length;
    }

    /// <summary>Sends the slot's datagram to this address (for an unconnected socket), not copied.</summary>
    public void SetDestination(int slot, void* name, socklen_t length)
    {
        msghdr* header = (msghdr*)&_messages[slot];
        header->msg_name = name;
        header->msg_namelen = length;
    }

    /// <summary>The slot's control buffer (<c>controlSpace</c> bytes); only with a control space.</summary>
    public byte* Control(int slot) => _control + (slot * _controlSpace);

    /// <summary>
    /// One empty sendmmsg (binds the P/Invoke) and an empty <see cref="Send"/> with this observer (compiles
    /// the loop for it: a generic method is not compiled ahead by <c>JitWarmUp</c>), so the first real
    /// batch waits for neither.
    /// </summary>
    public void WarmUp<T>(int fd, ref T observer)
        where T : struct, ISendmmsgObserver
    {
        _ = Libc.sendmmsg(fd, _messages, 0, MSG_DONTWAIT);
        Send(fd, 0, 0, ref observer);
    }

    /// <summary>Sends the first <paramref name="count"/> slots; every message ends up sent or dropped, as the observer hears.</summary>
    /// <param name="maxRetries">Most waits for room in a full send buffer before a message is dropped.</param>
    public void Send<T>(int fd, int count, int maxRetries, ref T observer)
        where T : struct, ISendmmsgObserver
    {
        int done = 0;
        int retries = 0;
        while (done < count)
        {
            observer.BeforeCall(done, count, done == 0 && retries == 0);
            int result = Libc.sendmmsg(fd, _messages + done, (uint)(count - done), MSG_DONTWAIT);
            if (result > 0)
            {
                observer.OnSent(done, result);
                done += result;
                continue;
            }

            int errorNumber = Marshal.GetLastPInvokeError();
            observer.OnCallFailed(errorNumber);
            if (errorNumber == Errno.EINTR)
            {
                continue;
            }
            if ((errorNumber == Errno.EAGAIN || errorNumber == Errno.ENOBUFS) && ++retries < maxRetries)
            {
                // The socket's send buffer is full: wait (bounded) for room rather than drop.
                pollfd writable = new() { fd = fd, events = POLLOUT };
                _ = poll(&writable, 1, 1);
                continue;
            }
            // The first unsent message is the one the error belongs to (e.g. ECONNREFUSED after an
            // ICMP port unreachable): drop it and carry on with the rest.
            observer.OnDropped(done, errorNumber);
            done++;
        }
    }

    public void Dispose()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        if (_control != null)
        {
            NativeMemory.Free(_control);
        }
    }
}
