using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Contract.Memory;

/// <summary>
/// A file mapped MAP_SHARED into this process: the medium through which the engine and the daemon
/// share rings, counters and histograms. The engine creates each file; the daemon opens it.
/// </summary>
/// <remarks>
/// Files should live on tmpfs (/run or /dev/shm): on a disk-backed file system, page writeback can
/// stall a real-time thread that touches a dirty page.
/// </remarks>
public sealed unsafe class MappedFile : IDisposable
{
    private byte* _base;

    private MappedFile(string path, byte* address, long length)
    {
        Path = path;
        _base = address;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    public byte* Pointer => _base != null ? _base : throw new ObjectDisposedException(Path);

    /// <summary>Creates (or truncates) the file at <paramref name="length"/> bytes, zero-filled, and maps it.</summary>
    /// <param name="prefault">Touch every page now so the real-time path never takes a first-touch fault.</param>
    public static MappedFile Create(string path, long length, bool prefault, int mode = 0x1B0 /* 0660 */)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        int fd = Open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
        try
        {
            // A stale file from an earlier engine may hold data: truncate to zero first so every byte reads 0.
            Check(ftruncate(fd, 0), "ftruncate", path);
            Check(ftruncate(fd, length), "ftruncate", path);
            // umask may have narrowed the mode; the daemon's group needs read-write access.
            Check(fchmod(fd, (mode_t)mode), "fchmod", path);
            return Map(fd, path, length, prefault);
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>Maps an existing file, whole.</summary>
    public static MappedFile Open(string path, bool prefault = false)
    {
        int fd = Open(path, O_RDWR | O_CLOEXEC, 0);
        try
        {
            stat st;
            Check(fstat(fd, &st), "fstat", path);
            long length = st.st_size;
            if (length <= 0)
            {
                throw new IOException($"Shared memory file {path} is empty.");
            }
            return Map(fd, path, length, prefault);
        }
        finally
        {
            _ = close(fd);
        }
    }

    public static void Delete(string path)
    {
        byte[] bytes = PathBytes(path);
        fixed (byte* p = bytes)
        {
            if (unlink(p) == -1 && errno != ENOENT)
            {
                throw NativeError("unlink", path);
            }
        }
    }

    private static int Open(string path, int flags, int mode)
    {
        byte[] bytes = PathBytes(path);
        fixed (byte* p = bytes)
        {
            int fd = open(p, flags, (mode_t)mode);
            if (fd == -1)
            {
                throw NativeError("open", path);
            }
            return fd;
        }
    }

    private static MappedFile Map(int fd, string path, long length, bool prefault)
    {
        int flags = MAP_SHARED | (prefault ? MAP_POPULATE : 0);
        void* address = mmap(null, (size_t)(nuint)length, PROT_READ | PROT_WRITE, flags, fd, 0);
        if (address == MAP_FAILED)
        {
            throw NativeError("mmap", path);
        }
        return new MappedFile(path, (byte*)address, length);
    }

    private static byte[] PathBytes(string path)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    private static void Check(int result, string call, string path)
    {
        if (result == -1)
        {
            throw NativeError(call, path);
        }
    }

    private static IOException NativeError(string call, string path)
    {
        int error = errno;
        return new IOException($"{call}({path}) failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})", error);
    }

    public void Dispose()
    {
        if (_base != null)
        {
            _ = munmap(_base, (size_t)(nuint)Length);
            _base = null;
        }
    }
}
