using RtUdp.Core.Contract.Memory;
using RtUdp.Core.Contract.Rings;

namespace RtUdp.Core.Contract.Control;

/// <summary>
/// Typed access to engine.ctl (<see cref="EngineControlLayout"/>) for both of its sides: the engine
/// creates and publishes it and its conductor writes health into it; rtudpd maps it, checks it is the
/// layout it reads, and reads health. The rings are the command and response rings.
/// </summary>
public sealed unsafe class EngineControlFile : IDisposable
{
    private readonly MappedFile _file;

    private EngineControlFile(MappedFile file)
    {
        _file = file;
        Commands = new RecordRing(file.Pointer + EngineControlLayout.CommandRingOffset, EngineControlLayout.RingCapacity);
        Responses = new RecordRing(file.Pointer + EngineControlLayout.ResponseRingOffset, EngineControlLayout.RingCapacity);
    }

    public string Path => _file.Path;

    /// <summary>Producers: daemon threads; consumer: the engine's conductor.</summary>
    public RecordRing Commands { get; }

    /// <summary>Producer: the conductor; consumer: the daemon.</summary>
    public RecordRing Responses { get; }

    // Throws ObjectDisposedException once unmapped: readers racing an engine's death rely on it.
    private ref EngineControlHeader Header => ref *(EngineControlHeader*)_file.Pointer;

    /// <summary>Engine: creates the file (zeroed) and publishes its header, in state Starting.</summary>
    public static EngineControlFile Create(string path, bool memoryLocked)
    {
        var control = new EngineControlFile(MappedFile.Create(path, EngineControlLayout.TotalLength, prefault: true));
        ref EngineControlHeader header = ref control.Header;
        header.Version = EngineControlLayout.Version;
        header.Pid = Environment.ProcessId;
        header.MemoryLocked = memoryLocked ? 1 : 0;
        control.State = EngineState.Starting;
        // Release store: an attaching daemon that sees the magic sees the header and the zeroed rings.
        Volatile.Write(ref header.Magic, EngineControlLayout.Magic);
        return control;
    }

    /// <summary>Daemon: maps the control file of a running engine.</summary>
    /// <returns>null while the file is being created or the engine is not running yet: look again.</returns>
    /// <exception cref="InvalidDataException">The file is of another layout (an engine of another build).</exception>
    /// <exception cref="IOException">The file is being created or removed right now: look again.</exception>
    public static EngineControlFile? OpenRunning(string path)
    {
        MappedFile file = MappedFile.Open(path);
        try
        {
            if (file.Length < sizeof(EngineControlHeader))
            {
                file.Dispose();
                return null;
            }
            ref EngineControlHeader header = ref *(EngineControlHeader*)file.Pointer;
            // Acquire load: pairs with the engine's release store of the magic, published last.
            ulong magic = Volatile.Read(ref header.Magic);
            string? problem = magic == 0 ? null : LayoutProblem(path, magic, header.Version, file.Length);
            if (problem is not null)
            {
                throw new InvalidDataException(problem);
            }
            if (magic == 0 || (EngineState)Volatile.Read(ref header.State) != EngineState.Running)
            {
                file.Dispose();
                return null;
            }
            return new EngineControlFile(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Engine: why it must not serve a daemon that reads layout <paramref name="daemonVersion"/>, or null if it may.</summary>
    public static string? VersionProblem(int daemonVersion) =>
        daemonVersion == EngineControlLayout.Version
            ? null
            : $"rtudpd reads control file layout version {daemonVersion}, this engine writes version {EngineControlLayout.Version}: "
                + "the engine and rtudpd come from different builds; install them together";

    private static string? LayoutProblem(string path, ulong magic, int version, long length)
    {
        if (magic != EngineControlLayout.Magic)
        {
            return $"{path} is not an engine control file rtudpd can read (magic 0x{magic:X16}, expected 0x{EngineControlLayout.Magic:X16}): "
                + "the engine and rtudpd come from different builds; install them together";
        }
        if (version != EngineControlLayout.Version)
        {
            return $"{path} has control file layout version {version}, rtudpd reads version {EngineControlLayout.Version}: "
                + "the engine and rtudpd come from different builds; install them together";
        }
        return length == EngineControlLayout.TotalLength
            ? null
            : $"{path} is {length} bytes; layout version {version} has {EngineControlLayout.TotalLength}";
    }

    public EngineState State
    {
        get => (EngineState)Volatile.Read(ref Header.State);
        set => Volatile.Write(ref Header.State, (int)value);
    }

    public int Pid => Header.Pid;

    public bool MemoryLocked => Header.MemoryLocked != 0;

    /// <summary>Advances on every pass of the conductor: the watchdog's evidence that it runs.</summary>
    public long Heartbeat => Volatile.Read(ref Header.Heartbeat);

    /// <summary>CLOCK_MONOTONIC time of the last heartbeat.</summary>
    public long HeartbeatTimeNs => Volatile.Read(ref Header.HeartbeatTimeNs);

    public long ChannelCount
    {
        get => Volatile.Read(ref Header.ChannelCount);
        set => Volatile.Write(ref Header.ChannelCount, value);
    }

    public long Gen0Collections => Volatile.Read(ref Header.Gen0Collections);

    public long Gen1Collections => Volatile.Read(ref Header.Gen1Collections);

    public long Gen2Collections => Volatile.Read(ref Header.Gen2Collections);

    public long AllocatedBytes => Volatile.Read(ref Header.AllocatedBytes);

    /// <summary>Conductor: one more heartbeat, at <paramref name="now"/> (CLOCK_MONOTONIC).</summary>
    public void Beat(long now)
    {
        ref EngineControlHeader header = ref Header;
        Volatile.Write(ref header.Heartbeat, header.Heartbeat + 1);
        Volatile.Write(ref header.HeartbeatTimeNs, now);
    }

    /// <summary>Conductor: the engine's garbage collections and bytes allocated since start, flat in steady state.</summary>
    public void PublishMemory(long gen0Collections, long gen1Collections, long gen2Collections, long allocatedBytes)
    {
        ref EngineControlHeader header = ref Header;
        Volatile.Write(ref header.Gen0Collections, gen0Collections);
        Volatile.Write(ref header.Gen1Collections, gen1Collections);
        Volatile.Write(ref header.Gen2Collections, gen2Collections);
        Volatile.Write(ref header.AllocatedBytes, allocatedBytes);
    }

    public void Dispose() => _file.Dispose();
}
