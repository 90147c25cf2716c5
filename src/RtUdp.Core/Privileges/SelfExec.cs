using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Privileges;

/// <summary>
/// Replaces the current process image with a fresh start of the same program and arguments (same pid,
/// so a service manager keeps tracking it). The new image has one thread whose capability sets the
/// kernel computes from the exec'ing thread: the only way to shed capabilities from every thread of
/// a .NET process, whose runtime threads exist before Main and each keep their own sets.
/// </summary>
public static unsafe class SelfExec
{
    /// <summary>Does not return on success; throws <see cref="NativeCallException"/> when execve fails.</summary>
    /// <param name="extraEnvironment">Variables set (or replaced) in the new image.</param>
    public static void Reexec(IReadOnlyDictionary<string, string> extraEnvironment)
    {
        // /proc/self/exe and /proc/self/cmdline: the program as the kernel started it, including a
        // "dotnet app.dll" host command line, which Environment.GetCommandLineArgs would not give.
        string executable = File.ResolveLinkTarget("/proc/self/exe", returnFinalTarget: true)?.FullName
            ?? throw new InvalidOperationException("/proc/self/exe cannot be resolved");
        string[] argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        var environment = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        }
        foreach ((string key, string value) in extraEnvironment)
        {
            environment[key] = value;
        }
        string[] envp = environment.Select(e => $"{e.Key}={e.Value}").ToArray();

        byte* path = ToNative(executable);
        byte** nativeArgv = ToNative(argv);
        byte** nativeEnvp = ToNative(envp);
        int result = Libc.execve(path, nativeArgv, nativeEnvp);
        int errno = Marshal.GetLastPInvokeError();
        // Only reached on failure: nothing was replaced, give the memory back.
        Free(nativeEnvp, envp.Length);
        Free(nativeArgv, argv.Length);
        NativeMemory.Free(path);
        if (result == -1)
        {
            Errno.ThrowFor(errno, $"execve({executable})");
        }
    }

    private static byte* ToNative(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        byte* bytes = (byte*)NativeMemory.Alloc((nuint)length + 1);
        Encoding.UTF8.GetBytes(value, new Span<byte>(bytes, length));
        bytes[length] = 0;
        return bytes;
    }

    private static byte** ToNative(string[] values)
    {
        byte** array = (byte**)NativeMemory.Alloc((nuint)(values.Length + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < values.Length; i++)
        {
            array[i] = ToNative(values[i]);
        }
        array[values.Length] = null;
        return array;
    }

    private static void Free(byte** array, int count)
    {
        for (int i = 0; i < count; i++)
        {
            NativeMemory.Free(array[i]);
        }
        NativeMemory.Free(array);
    }
}
