using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace RtUdp.Bench;

/// <summary>
/// The far side of the trains part: <c>rtudp_ref rx</c> (recvmmsg in a spin, never sleeping; with UDP_GRO or without,
/// a coalesced datagram counted by its segments), started once per comparison and left running across the runs it counts; in a namespace through a
/// wrapper (<c>ip netns exec NS</c>). It prints its cumulative count every 50 ms with its CLOCK_MONOTONIC time
/// (the same clock as the bench's and the engine's: namespaces do not change it), so a run's received rate is
/// the count between two of those samples inside the run's own window.
/// </summary>
internal sealed class FarReceiver : IDisposable
{
    private readonly Process _process;
    private readonly List<Sample> _samples = [];
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _errors = [];

    private readonly record struct Sample(long Ns, long Datagrams, long Reads, long Drops);

    private FarReceiver(Process process) => _process = process;

    public int Port { get; private set; }

    /// <summary>Starts the receiver bound to <paramref name="address"/> port 0 and waits until it says which port it got.</summary>
    public static FarReceiver Start(string binary, IReadOnlyList<string>? wrapper, IPAddress address, int cpu, bool gro)
    {
        const int LongEnough = 3600; // the bench stops it
        (string file, string[] args) = Util.Wrapped(wrapper, binary,
            ["rx", address.ToString(), Arg(cpu), "0", Arg(LongEnough), gro ? "1" : "0"]);
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var receiver = new FarReceiver(Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}"));
        receiver._process.OutputDataReceived += (_, e) => receiver.OnLine(e.Data);
        receiver._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (receiver._errors)
                {
                    receiver._errors.Add(line);
                }
            }
        };
        receiver._process.BeginOutputReadLine();
        receiver._process.BeginErrorReadLine();
        if (!receiver._port.Task.Wait(TimeSpan.FromSeconds(10)))
        {
            string said = receiver.Errors;
            receiver.Dispose();
            throw new InvalidOperationException($"rtudp_ref rx did not start: {said}");
        }
        receiver.Port = receiver._port.Task.Result;
        return receiver;
    }

    private string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join("; ", _errors);
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _port.TrySetException(new InvalidOperationException("rtudp_ref rx exited"));
            return;
        }
        Dictionary<string, string> values = Util.KeyValues(line);
        if (values.TryGetValue("port", out string? port))
        {
            _port.TrySetResult(int.Parse(port, CultureInfo.InvariantCulture));
        }
        else if (values.ContainsKey("t"))
        {
            lock (_samples)
            {
                _samples.Add(new Sample(Util.Long(values, "t"), Util.Long(values, "datagrams"), Util.Long(values, "reads"), Util.Long(values, "drops")));
            }
        }
    }

    /// <summary>
    /// Datagrams/s received between the first sample at or after <paramref name="startNs"/> and the last at or
    /// before <paramref name="endNs"/> (CLOCK_MONOTONIC), the socket's drops (skbs: a dropped train counts once)
    /// and reads in that span. Waits for the sample after <paramref name="endNs"/>.
    /// </summary>
    public (double Pps, long Drops, long Reads) Rate(long startNs, long endNs)
    {
        Stopwatch waited = Stopwatch.StartNew();
        while (true)
        {
            lock (_samples)
            {
                if (_samples.Count > 0 && _samples[^1].Ns > endNs)
                {
                    Sample first = _samples.FirstOrDefault(s => s.Ns >= startNs);
                    Sample last = _samples.LastOrDefault(s => s.Ns <= endNs);
                    if (first.Ns == 0 || last.Ns <= first.Ns)
                    {
                        return (0, 0, 0);
                    }
                    return ((last.Datagrams - first.Datagrams) / ((last.Ns - first.Ns) / 1e9), last.Drops - first.Drops, last.Reads - first.Reads);
                }
            }
            if (_process.HasExited || waited.Elapsed > TimeSpan.FromSeconds(5))
            {
                throw new InvalidOperationException($"rtudp_ref rx stopped reporting (exited: {_process.HasExited}) {Errors}");
            }
            Thread.Sleep(20);
        }
    }

    private static string Arg(long value) => value.ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
