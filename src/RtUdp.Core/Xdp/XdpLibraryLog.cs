using System.Runtime.InteropServices;
using System.Text;
using RtUdp.Core.Native;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Routes libxdp's and libbpf's messages (which they print to stderr by default) to an optional sink, and keeps
/// the warnings of the current call so that an <see cref="XdpException"/> can quote them. All libxdp use goes
/// through <see cref="Gate"/>: libxdp keeps process-wide state and its log is global, so calls are serialised.
/// </summary>
public static unsafe class XdpLibraryLog
{
    private const int MaxKept = 8192;

    private static readonly StringBuilder Current = new();
    private static bool _installed;

    /// <summary>Serialises every libxdp/libbpf call made by this assembly.</summary>
    internal static readonly Lock Gate = new();

    /// <summary>Receives every message at warning level, and info/debug when <see cref="Verbose"/> (level, text). Called on the calling thread, under <see cref="Gate"/>.</summary>
    public static Action<string, string>? Sink { get; set; }

    /// <summary>Also pass libxdp's info and debug messages to <see cref="Sink"/>.</summary>
    public static bool Verbose { get; set; }

    /// <summary>Installs the callbacks once; then starts a fresh record for the call about to be made. Under <see cref="Gate"/>.</summary>
    internal static void BeginCall()
    {
        if (!_installed)
        {
            Libxdp.libxdp_set_print(&OnLibxdp);
            Libbpf.libbpf_set_print(&OnLibbpf);
            _installed = true;
        }
        Current.Clear();
    }

    /// <summary>What was logged at warning level since <see cref="BeginCall"/>, or null.</summary>
    internal static string? Recorded() => Current.Length == 0 ? null : Current.ToString();

    [UnmanagedCallersOnly]
    private static int OnLibxdp(Libxdp.libxdp_print_level level, byte* format, nint args) =>
        Record(level == Libxdp.libxdp_print_level.LIBXDP_WARN, level.ToString(), format, args);

    [UnmanagedCallersOnly]
    private static int OnLibbpf(Libbpf.libbpf_print_level level, byte* format, nint args) =>
        Record(level == Libbpf.libbpf_print_level.LIBBPF_WARN, level.ToString(), format, args);

    private static int Record(bool warning, string level, byte* format, nint args)
    {
        try
        {
            const int Capacity = 1024;
            byte* buffer = stackalloc byte[Capacity];
            int n = Libc.vsnprintf(buffer, Capacity, format, args);
            if (n < 0)
            {
                return 0;
            }
            string text = Marshal.PtrToStringUTF8((nint)buffer) ?? "";
            if (warning && Current.Length < MaxKept)
            {
                Current.Append(text.Length > 0 && text[^1] == '\n' ? text.Replace('\n', ' ') : text + " ");
            }
            if (warning || Verbose)
            {
                Sink?.Invoke(level, text.TrimEnd());
            }
            return n;
        }
#pragma warning disable CA1031 // An exception must not unwind into libxdp.
        catch (Exception)
#pragma warning restore CA1031
        {
            return 0;
        }
    }
}
