using System.Globalization;

namespace RtUdp.Core.Xdp;

/// <summary>
/// Which BPF programs some process still holds a file descriptor to (/proc/PID/fdinfo/FD has "prog_id: N" for a
/// program fd). A running engine holds its steering program (libxdp keeps the program's fd until
/// <see cref="XdpSteeringProgram.Dispose"/>); a killed engine holds nothing, its program lives on only through
/// the interface (and libxdp's pins). So "ours and held by nobody" is a leftover.
/// Processes whose fd table cannot be read (another user's, without CAP_SYS_PTRACE) count as holding nothing.
/// </summary>
internal static class XdpProgramHolders
{
    public static HashSet<uint> HeldProgramIds()
    {
        var held = new HashSet<uint>();
        IEnumerable<string> processes;
        try
        {
            processes = Directory.EnumerateDirectories("/proc");
        }
        catch (IOException)
        {
            return held;
        }
        foreach (string process in processes)
        {
            if (!int.TryParse(Path.GetFileName(process), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }
            try
            {
                foreach (string fd in Directory.EnumerateFiles(Path.Combine(process, "fdinfo")))
                {
                    Scan(fd, held);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read.
            }
        }
        return held;
    }

    private static void Scan(string fdinfo, HashSet<uint> held)
    {
        try
        {
            foreach (string line in File.ReadLines(fdinfo))
            {
                if (line.StartsWith("prog_id:", StringComparison.Ordinal)
                    && uint.TryParse(line.AsSpan("prog_id:".Length).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
                {
                    held.Add(id);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // That descriptor was closed meanwhile (one of the process's threads, or the enumeration's own).
        }
    }
}
