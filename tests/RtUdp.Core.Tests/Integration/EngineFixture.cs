using RtUdp.Core.EngineLink;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// A real engine process (rtudp-engine) in a private directory, shared by the tests of a class.
/// Its log lines are kept so a failing test can show them.
/// </summary>
public sealed class EngineFixture : IDisposable
{
    private readonly List<string> _log = [];
    private uint _nextId = 1;

    public EngineFixture()
        : this(wrapperCommand: null)
    {
    }

    private EngineFixture(IEnumerable<string>? wrapperCommand, IEnumerable<string>? engineArguments = null)
    {
        Directory = Path.Combine(System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"rtudp-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            Engine = EngineProcess.Start(
                Directory,
                line =>
                {
                    lock (_log)
                    {
                        _log.Add(line);
                    }
                },
                wrapperCommand: wrapperCommand,
                engineArguments: engineArguments);
        }
        catch
        {
            DeleteDirectory();
            throw;
        }
    }

    /// <summary>An engine started through <paramref name="wrapperCommand"/> (e.g. <c>ip netns exec NS</c>).</summary>
    public static EngineFixture StartWrapped(IEnumerable<string> wrapperCommand) => new(wrapperCommand);

    /// <summary>An engine started with extra command-line arguments.</summary>
    public static EngineFixture StartWith(params string[] engineArguments) => new(null, engineArguments);

    public string Directory { get; }

    public EngineProcess Engine { get; }

    public EngineConnection Client => Engine.Client;

    public uint NextId() => Interlocked.Increment(ref _nextId);

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    public void Dispose()
    {
        Engine.Dispose();
        DeleteDirectory();
    }

    private void DeleteDirectory()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
