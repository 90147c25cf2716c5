using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;
using RtUdp.Core.Privileges;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Launching;

/// <summary>
/// The launcher side (<c>rtudp-engine --launcher</c>): a small process that keeps the engine's
/// capabilities after rtudpd has shed its own, and starts, signals and reaps the engine on the
/// daemon's behalf. It only ever starts its own binary, so a compromised daemon can get no more from it
/// than an engine it could already command through shared memory.
/// </summary>
public static class EngineLauncherServer
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    /// <param name="controlFd">This end of the socket pair rtudpd created.</param>
    /// <param name="closeFd">rtudpd's end, inherited by accident of fork: closed so that rtudpd's exit reads as end of stream here.</param>
    /// <param name="diagnostic">Where the launcher's own problems go (its stderr, which is rtudpd's).</param>
    public static unsafe int Run(int controlFd, int closeFd, Action<string> diagnostic)
    {
        if (closeFd >= 0)
        {
            Errno.Check(close(closeFd), $"close({closeFd})");
        }
        // The engine must not inherit the control socket: the launcher alone answers for it.
        Errno.Check(fcntl(controlFd, F_SETFD, FD_CLOEXEC), "fcntl(F_SETFD, FD_CLOEXEC)");

        // Terminal and service-manager signals are for rtudpd, which stops the engine in order (drain
        // first); the launcher lives until rtudpd closes the socket or it is killed.
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => c.Cancel = true);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => c.Cancel = true);

        using var socket = new Socket(new SafeSocketHandle(controlFd, ownsHandle: true));
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var reader = new StreamReader(stream, new UTF8Encoding(false));
        using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        var gate = new Lock();
        Process? engine = null;

        void Send(string line)
        {
            lock (gate)
            {
                try
                {
                    writer.WriteLine(line);
                }
                catch (IOException)
                {
                    // rtudpd is gone; the read loop sees it too and stops the engine.
                }
            }
        }

        CapabilitySets own = CapabilitySets.OfCurrentThread();
        Send(LauncherProtocol.Format(LauncherProtocol.Ready, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), own.Effective.ToString("x", CultureInfo.InvariantCulture)));

        string? line;
        while ((line = ReadLine(reader)) is not null)
        {
            (string verb, string[] fields) = LauncherProtocol.Parse(line);
            switch (verb)
            {
                case LauncherProtocol.Start:
                    lock (gate)
                    {
                        string reply;
                        if (engine is { HasExited: false })
                        {
                            reply = LauncherProtocol.Format(LauncherProtocol.Failed, $"engine {engine.Id} is still running");
                        }
                        else
                        {
                            engine?.Dispose();
                            engine = null;
                            try
                            {
                                engine = StartEngine(fields, Send);
                                reply = LauncherProtocol.Format(LauncherProtocol.Started, engine.Id.ToString(CultureInfo.InvariantCulture));
                            }
                            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
                            {
                                reply = LauncherProtocol.FormatText(LauncherProtocol.Failed, e.Message);
                            }
                        }
                        Send(reply); // Lock is reentrant: the reply still precedes the engine's exit message
                    }
                    break;
                case LauncherProtocol.Signal when fields.Length == 1 && int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int signo):
                    Process? target;
                    lock (gate)
                    {
                        target = engine;
                    }
                    // Unreaped until its Exited handler ran, so the pid cannot have been reused yet.
                    if (target is { HasExited: false } && kill(target.Id, signo) == -1)
                    {
                        diagnostic($"kill({target.Id}, {signo}) failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
                    }
                    break;
                default:
                    diagnostic($"unknown request '{line}'");
                    break;
            }
        }

        // rtudpd closed its end (it stopped, or died): the engine goes with it.
        Process? last;
        lock (gate)
        {
            last = engine;
        }
        if (last is { HasExited: false })
        {
            _ = kill(last.Id, SIGTERM);
            if (!last.WaitForExit(StopTimeout))
            {
                last.Kill();
                last.WaitForExit(StopTimeout);
            }
        }
        last?.Dispose();
        return 0;
    }

    private static string? ReadLine(StreamReader reader)
    {
        try
        {
            return reader.ReadLine();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static Process StartEngine(string[] arguments, Action<string> send)
    {
        // Always this binary: the launcher starts nothing else.
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("the launcher's own path is unknown");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "rtudp-engine.dll"));
        }
        foreach (string argument in arguments)
        {
            if (argument == "--launcher")
            {
                throw new InvalidOperationException("an engine cannot be started as another launcher");
            }
            info.ArgumentList.Add(argument);
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        DataReceivedEventHandler forward = (_, e) =>
        {
            if (e.Data is not null)
            {
                send(LauncherProtocol.FormatLog(e.Data));
            }
        };
        process.OutputDataReceived += forward;
        process.ErrorDataReceived += forward;
        process.Exited += (_, _) =>
        {
            // After its last output line, so the daemon has the whole log when it learns of the exit.
            process.WaitForExit();
            send(LauncherProtocol.Format(LauncherProtocol.Exited, process.Id.ToString(CultureInfo.InvariantCulture), process.ExitCode.ToString(CultureInfo.InvariantCulture)));
        };
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {self}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
