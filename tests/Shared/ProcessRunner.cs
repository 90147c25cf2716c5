using System.Diagnostics;
using System.Text;

namespace RtUdp.Testing;

/// <summary>What a program run to completion left: its exit code and what it printed.</summary>
/// <param name="Output">Stdout and stderr as one transcript, whole lines in the order they came.</param>
internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, string Output)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// Runs a program to completion for a test: both pipes drained as it runs (a chatty child never blocks on
/// a full pipe), the whole process tree killed when it outlives its timeout, in the C locale (the output
/// tests parse does not depend on the machine's language). Long-running processes a test streams from
/// (a daemon, a launcher under test) are not for this. Linked into the test projects.
/// </summary>
internal static class ProcessRunner
{
    /// <summary>Its last output may still be in the pipes when it exits.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(10);

    /// <summary>Runs <paramref name="file"/> and blocks until it exits; a <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    /// <param name="stdin">Written to its standard input, which is then closed; null: it inherits the test's.</param>
    /// <param name="environment">Variables to set over the test's own (and over LC_ALL=C); a null value removes one.</param>
    /// <param name="workingDirectory">Null: the test's.</param>
    public static ProcessResult Run(string file, IEnumerable<string> arguments, TimeSpan timeout,
        string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        using var run = new RunningProcess(file, arguments, stdin is not null, environment, workingDirectory);
        var clock = Stopwatch.StartNew();
        Task input = stdin is null ? Task.CompletedTask : Task.Run(() => run.WriteInputAsync(stdin));
        if (!run.Process.WaitForExit(Remaining(clock, timeout)))
        {
            throw run.KillForTimeout(timeout);
        }
        if (!Task.WhenAll(input, run.Drained).Wait(DrainTime(clock, timeout)))
        {
            throw run.PipesHeldOpen(timeout);
        }
        return run.Result();
    }

    /// <inheritdoc cref="Run"/>
    public static async Task<ProcessResult> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout,
        string? stdin = null, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        using var run = new RunningProcess(file, arguments, stdin is not null, environment, workingDirectory);
        var clock = Stopwatch.StartNew();
        Task input = stdin is null ? Task.CompletedTask : Task.Run(() => run.WriteInputAsync(stdin));
        using (var cancel = new CancellationTokenSource(timeout))
        {
            try
            {
                await run.Process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw run.KillForTimeout(timeout);
            }
        }
        try
        {
            await Task.WhenAll(input, run.Drained).WaitAsync(DrainTime(clock, timeout));
        }
        catch (TimeoutException)
        {
            throw run.PipesHeldOpen(timeout);
        }
        return run.Result();
    }

    /// <summary>"file arg arg" for messages.</summary>
    public static string Describe(string file, IEnumerable<string> arguments) => string.Join(' ', arguments.Prepend(file));

    private static TimeSpan Remaining(Stopwatch clock, TimeSpan timeout) =>
        timeout > clock.Elapsed ? timeout - clock.Elapsed : TimeSpan.Zero;

    /// <summary>How long the pipes may take to reach their end once it exited: the rest of its time, and never less than a grace.</summary>
    private static TimeSpan DrainTime(Stopwatch clock, TimeSpan timeout)
    {
        TimeSpan remaining = Remaining(clock, timeout);
        return remaining > DrainGrace ? remaining : DrainGrace;
    }

    /// <summary>A started process whose stdout and stderr are being read to their end.</summary>
    private sealed class RunningProcess : IDisposable
    {
        private readonly string _command;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly StringBuilder _transcript = new();

        public RunningProcess(string file, IEnumerable<string> arguments, bool redirectInput,
            IReadOnlyDictionary<string, string?>? environment, string? workingDirectory)
        {
            var info = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = redirectInput,
                UseShellExecute = false,
            };
            foreach (string argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }
            if (workingDirectory is not null)
            {
                info.WorkingDirectory = workingDirectory;
            }
            info.Environment["LC_ALL"] = "C";
            foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
            {
                if (value is null)
                {
                    info.Environment.Remove(name);
                }
                else
                {
                    info.Environment[name] = value;
                }
            }
            _command = Describe(file, info.ArgumentList);
            Process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
            Drained = Task.WhenAll(
                Task.Run(() => PumpAsync(Process.StandardOutput, _stdout)),
                Task.Run(() => PumpAsync(Process.StandardError, _stderr)));
        }

        public Process Process { get; }

        /// <summary>Completes when both pipes reached their end (every writer, children included, closed them).</summary>
        public Task Drained { get; }

        public async Task WriteInputAsync(string text)
        {
            try
            {
                await Process.StandardInput.WriteAsync(text);
            }
            catch (IOException)
            {
                // It exited (or closed its stdin) without reading everything: its exit code and output say why.
            }
            finally
            {
                Process.StandardInput.Close();
            }
        }

        public ProcessResult Result()
        {
            lock (_transcript)
            {
                return new ProcessResult(Process.ExitCode, _stdout.ToString(), _stderr.ToString(), _transcript.ToString());
            }
        }

        public TimeoutException KillForTimeout(TimeSpan timeout)
        {
            Process.Kill(entireProcessTree: true);
            // Bounded: a killed tree exits at once, and what it printed is wanted in the message.
            Process.WaitForExit(TimeSpan.FromSeconds(10));
            Drained.Wait(TimeSpan.FromSeconds(10));
            return new TimeoutException($"{_command} did not finish within {timeout.TotalSeconds:0.#} s:\n{Printed()}");
        }

        public TimeoutException PipesHeldOpen(TimeSpan timeout) =>
            new($"{_command} exited ({Process.ExitCode}) but something it started kept its output open for {timeout.TotalSeconds:0.#} s:\n{Printed()}");

        public void Dispose() => Process.Dispose();

        private string Printed()
        {
            lock (_transcript)
            {
                return _transcript.ToString();
            }
        }

        /// <summary>
        /// Reads a pipe to its end: every character into <paramref name="own"/>, and each whole line into the
        /// transcript, so lines of stdout and stderr never interleave mid-line (a pipe is written in blocks).
        /// </summary>
        private async Task PumpAsync(StreamReader reader, StringBuilder own)
        {
            var pending = new StringBuilder();
            char[] buffer = new char[4096];
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                lock (_transcript)
                {
                    own.Append(buffer, 0, read);
                    pending.Append(buffer, 0, read);
                    int end = LastNewline(pending);
                    if (end >= 0)
                    {
                        _transcript.Append(pending, 0, end + 1);
                        pending.Remove(0, end + 1);
                    }
                }
            }
            lock (_transcript)
            {
                if (pending.Length > 0)
                {
                    _transcript.Append(pending).Append('\n');
                }
            }
        }

        private static int LastNewline(StringBuilder text)
        {
            for (int i = text.Length - 1; i >= 0; i--)
            {
                if (text[i] == '\n')
                {
                    return i;
                }
            }
            return -1;
        }
    }
}
