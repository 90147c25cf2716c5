using System.Diagnostics;
using System.Text;

namespace RtUdp.Daemon.Tests.Native;

/// <summary>
/// A test program of tests/c running beside the test (a receiver that must be attached before the sender starts):
/// its stdout collected line by line as it comes, waited on by condition with a timeout, killed if still running at
/// disposal. Programs that are run to completion use <see cref="ProcessRunner"/> instead.
/// </summary>
internal sealed class CProgram : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CProgram(Process process) => _process = process;

    public static CProgram Start(string program, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info };
        var started = new CProgram(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                started._stdoutClosed.TrySetResult();
                return;
            }
            lock (started._gate)
            {
                started._lines.Add(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (started._gate)
            {
                started._stderr.AppendLine(e.Data);
            }
        };
        Assert.True(process.Start(), $"{program} did not start");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Its stdout lines so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public string Transcript
    {
        get
        {
            lock (_gate)
            {
                return $"--- stdout ---\n{string.Join('\n', _lines)}\n--- stderr ---\n{_stderr}";
            }
        }
    }

    /// <summary>Writes a line to its standard input (a program paused on fgets goes on).</summary>
    public async Task WriteLineAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for a stdout line that matches; fails with the transcript if it exits or times out first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        string? found = null;
        await Wait.UntilAsync(
            () => (found = Lines.FirstOrDefault(match)) is not null
                || (_process.HasExited && _stdoutClosed.Task.IsCompleted ? throw new InvalidOperationException($"exited ({_process.ExitCode}) before {what}:\n{Transcript}") : false),
            timeout,
            () => $"{what}:\n{Transcript}");
        return found!;
    }

    /// <summary>Waits for it to exit and for its output to end; returns its exit code (128 + N for signal N).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            await _stdoutClosed.Task.WaitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} still running after {timeout}:\n{Transcript}");
        }
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited in between.
        }
        _process.Dispose();
    }
}
