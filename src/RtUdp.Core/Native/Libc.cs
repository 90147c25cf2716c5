using System.Diagnostics.CodeAnalysis;

namespace RtUdp.Core.Native;

/// <summary>
/// Linux/glibc bindings missing from Tmds.LibC, one file per C header, with C's spelling kept
/// verbatim so man pages and kernel docs apply directly. Every binding sets SetLastError, so a
/// failure can be turned into an exception with <see cref="Errno.Check(int, string)"/>.
/// Layouts and constants are verified against the system headers by NativeLayoutTests.
/// </summary>
[SuppressMessage("Naming", "CA1708:Identifiers should differ by more than case",
    Justification = "C names collide by case (FUTEX_WAKE/futex_wake, SO_TIMESTAMPING/so_timestamping) and are kept verbatim.")]
public static partial class Libc;
