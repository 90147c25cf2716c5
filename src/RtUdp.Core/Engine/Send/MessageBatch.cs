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

    /// <summary>
    /// Whether an EMSGSIZE belongs to the message in <paramref name="slot"/> (larger than the path MTU) rather
    /// than to a datagram sent earlier (an ICMP "fragmentation needed" the kernel reports on the next send).
    /// </summary>
    bool IsTooBig(int slot);

    /// <summary>
    /// The call failed with a network error reported for an earlier datagram: the message in <paramref name="slot"/>
    /// is sent again next. The send worker reads the socket's error queue here, which takes the pending error off.
    /// </summary>
    void OnResent(int slot, int errorNumber);

    /// <summary>
    /// The call failed with the message in <paramref name="slot"/>'s own error: whether the caller takes over from
    /// it. True ends <see cref="MessageBatch.Send"/> there, the message and those after it unsent (a GSO train the
    /// kernel refused goes again as single datagrams); false drops it (<see cref="OnDropped"/>) and goes on.
    /// </summary>
    bool TakesOver(int slot, int errorNumber);

    /// <summary>The message in <paramref name="slot"/> is given up: the error belongs to it, or retries ran out.</summary>
    /// <param name="afterResends">It failed with a network error again after every resend.</param>
    void OnDropped(int slot, int errorNumber, bool afterResends);
}

/// <summary>
/// A batch of outgoing datagrams as native message headers (mmsghdr, one iovec each unless pointed at a run of
/// iovecs, optionally a control buffer each), allocated once, and the sendmmsg loop that sends them: EINTR is retried,
/// EAGAIN/ENOBUFS (the socket's send buffer is full) waits for room with a bounded poll, a network error
/// that the kernel reports for an earlier datagram (<see cref="IsReportedLater"/>) sends the same message
/// again (a bounded number of times), and any other error drops the first unsent message, the one it
/// belongs to, and goes on with the rest. Allocates nothing after construction.
/// </summary>
public sealed unsafe class MessageBatch : IDisposable
{
    private readonly mmsghdr* _messages;
    private readonly iovec* _vectors;

    // One iovec per message for a datagram gathered into one buffer (SetBuffer), apart from the packets' iovecs.
    private readonly iovec* _buffers;
    private readonly byte* _control;
    private readonly int _controlSpace;

    /// <param name="capacity">Most messages in one batch; there are as many iovecs, message i's is iovec i until <see cref="SetVectors"/>.</param>
    /// <param name="controlSpace">Bytes of control message per datagram (e.g. SCM_TXTIME), 0 for none.</param>
    public MessageBatch(int capacity, int controlSpace = 0)
    {
        Capacity = capacity;
        _controlSpace = controlSpace;
        _messages = (mmsghdr*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(mmsghdr));
        _vectors = (iovec*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(iovec));
        _buffers = (iovec*)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(iovec));
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

    /// <summary>
    /// Most times one message is sent again after its call failed with an earlier datagram's network error.
    /// Each failure takes the kernel's pending error away, so a second failure in a row needs a new ICMP error
    /// (a storm) or is the message's own (a route that is gone): the bound keeps either from stalling the batch.
    /// </summary>
    public const int MaxResends = 2;

    public int Capacity { get; }

    /// <summary>
    /// Errors an ICMP report for a datagram already sent leaves on the socket (sk_err), which the next send
    /// call returns instead of sending: port unreachable (ECONNREFUSED), host or network unreachable, host
    /// unknown (EHOSTDOWN), host isolated (ENONET), protocol unreachable (ENOPROTOOPT), source route failed
    /// (EOPNOTSUPP), parameter problem (EPROTO), and fragmentation needed (EMSGSIZE, see
    /// <see cref="ISendmmsgObserver.IsTooBig"/>). Some of them also come from the send itself (no route:
    /// ENETUNREACH), which the bounded resend then finds out.
    /// </summary>
    public static bool IsReportedLater(int errorNumber) => errorNumber is Errno.ECONNREFUSED or Errno.EHOSTUNREACH
        or Errno.ENETUNREACH or Errno.EHOSTDOWN or Errno.ENONET or Errno.ENOPROTOOPT or Errno.EOPNOTSUPP or Errno.EPROTO
        or Errno.EMSGSIZE;

    /// <summary>Points the slot's datagram at <paramref name="length"/> bytes at <paramref name="data"/> (not copied).</summary>
    public void SetPayload(int slot, byte* data, int length)
    {
        _vectors[slot].iov_base = data;
        _vectors[slot].iov_len = (size_t)length;
    }

    /// <summary>Points iovec <paramref name="index"/> at <paramref name="length"/> bytes at <paramref name="data"/> (not copied).</summary>
    public void SetVector(int index, byte* data, int length)
    {
        _vectors[index].iov_base = data;
        _vectors[index].iov_len = (size_t)length;
    }

    /// <summary>The slot's datagram is the iovecs [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>), one after the other.</summary>
    public void SetVectors(int slot, int first, int count)
    {
        msghdr* header = (msghdr*)&_messages[slot];
        header->msg_iov = &_vectors[first];
        header->msg_iovlen = count;
    }

    /// <summary>
    /// The slot's datagram is the <paramref name="length"/> bytes at <paramref name="data"/>, one iovec of the
    /// slot's own (not one of the packets' iovecs, which stay as they were set): a datagram gathered into one buffer.
    /// </summary>
    public void SetBuffer(int slot, byte* data, int length)
    {
        _buffers[slot].iov_base = data;
        _buffers[slot].iov_len = (size_t)length;
        msghdr* header = (msghdr*)&_messages[slot];
        header->msg_iov = &_buffers[slot];
        header->msg_iovlen = 1;
    }

    /// <summary>How many bytes of the slot's control buffer the datagram carries (at most the control space; 0: none).</summary>
    public void SetControlLength(int slot, int length)
    {
        msghdr* header = (msghdr*)&_messages[slot];
        header->msg_controllen = length;
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
        _ = Send(fd, 0, 0, ref observer);
    }

    /// <summary>
    /// Sends the first <paramref name="count"/> slots; every message ends up sent or dropped, as the observer hears,
    /// unless the observer takes over at one (<see cref="ISendmmsgObserver.TakesOver"/>).
    /// </summary>
    /// <param name="maxRetries">Most waits for room in a full send buffer before a message is dropped.</param>
    /// <returns><paramref name="count"/>, or the slot the observer took over at (it and those after it unsent).</returns>
    public int Send<T>(int fd, int count, int maxRetries, ref T observer)
        where T : struct, ISendmmsgObserver
    {
        int done = 0;
        int retries = 0;
        int resends = 0;
        while (done < count)
        {
            observer.BeforeCall(done, count, done == 0 && retries == 0);
            int result = Libc.sendmmsg(fd, _messages + done, (uint)(count - done), MSG_DONTWAIT);
            if (result > 0)
            {
                observer.OnSent(done, result);
                done += result;
                resends = 0;
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
            if (IsReportedLater(errorNumber) && !(errorNumber == Errno.EMSGSIZE && observer.IsTooBig(done)))
            {
                if (resends < MaxResends)
                {
                    // The error is an earlier datagram's, and reporting it cleared it: this one goes again.
                    resends++;
                    observer.OnResent(done, errorNumber);
                    continue;
                }
                observer.OnDropped(done, errorNumber, afterResends: true);
            }
            else if (observer.TakesOver(done, errorNumber))
            {
                return done;
            }
            else
            {
                // The error is the first unsent message's own (too big, not permitted, ...): it is dropped.
                observer.OnDropped(done, errorNumber, afterResends: false);
            }
            done++;
            resends = 0;
        }
        return count;
    }

    public void Dispose()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_buffers);
        if (_control != null)
        {
            NativeMemory.Free(_control);
        }
    }
}
