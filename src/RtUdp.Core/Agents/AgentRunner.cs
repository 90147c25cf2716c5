namespace RtUdp.Core.Agents;

/// <summary>Runs one <see cref="IAgent"/> on a dedicated, named foreground thread until stopped.</summary>
public sealed class AgentRunner : IDisposable
{
    /// <summary>The longest an agent may wait in one duty cycle, so heartbeats and stops stay prompt.</summary>
    public const long MaxWaitNs = 100_000_000;

    private readonly IAgent _agent;
    private readonly Thread _thread;
    private volatile bool _running = true;
    private Exception? _failure;

    public AgentRunner(IAgent agent)
    {
        _agent = agent;
        // A small stack: with mlockall(MCL_FUTURE) every touched stack page stays resident.
        _thread = new Thread(Run, 256 * 1024) { Name = agent.RoleName, IsBackground = true };
    }

    public IAgent Agent => _agent;

    public bool IsRunning => _running;

    /// <summary>The exception that ended the agent, if one did.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    public void Start() => _thread.Start();

    private void Run()
    {
        try
        {
            _agent.OnStart();
            while (_running)
            {
                _agent.DoWork();
            }
        }
        catch (Exception e)
        {
            Volatile.Write(ref _failure, e);
            _running = false;
        }
        finally
        {
            try
            {
                _agent.OnClose();
            }
            catch (Exception e)
            {
                Volatile.Write(ref _failure, _failure ?? e);
            }
        }
    }

    /// <summary>Stops the agent and waits for its thread to end.</summary>
    public bool Stop(TimeSpan timeout)
    {
        _running = false;
        _agent.Wake();
        return !_thread.IsAlive || _thread.Join(timeout);
    }

    public void Dispose() => Stop(TimeSpan.FromSeconds(5));
}
