namespace RtUdp.Core.Xdp;

/// <summary>What a wake-up of the kernel (<see cref="XskSocket.KickTx"/>, <see cref="XskSocket.RefillRx"/>) came to.</summary>
public enum XdpKickResult
{
    /// <summary>The ring's need-wakeup flag was clear: the kernel is still working on the ring, no syscall made.</summary>
    NotNeeded,

    /// <summary>The syscall ran and the kernel took (part of) the ring.</summary>
    Woken,

    /// <summary>
    /// The kernel could not take more now (EAGAIN, EBUSY, ENOBUFS: its budget per call is spent, the completion ring
    /// or the device queue is full). Reap completions and kick again; nothing was lost.
    /// </summary>
    Busy,

    /// <summary>Any other errno (e.g. ENETDOWN), in <see cref="XskSocket.LastTxKickErrno"/> or <see cref="XskSocket.LastRxKickErrno"/>: report it.</summary>
    Failed,
}
