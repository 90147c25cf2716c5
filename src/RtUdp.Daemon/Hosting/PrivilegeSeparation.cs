using System.Diagnostics;
using RtUdp.Core.EngineLink;
using RtUdp.Core.Launching;
using RtUdp.Core.Privileges;
using RtUdp.Daemon.Engine;

namespace RtUdp.Daemon.Hosting;

/// <summary>
/// Keeps the engine's capabilities (CAP_SYS_NICE, CAP_IPC_LOCK, CAP_NET_ADMIN) out of the gRPC-facing
/// daemon. Under the packaged unit they arrive as ambient capabilities, because systemd forces
/// no_new_privs with that unit's sandboxing and the kernel then ignores file capabilities. rtudpd
/// hands them to an engine launcher it starts at once, then re-executes itself without them: capability
/// sets belong to threads, and the runtime's threads that exist before Main would keep them otherwise.
/// </summary>
/// <param name="Launcher">Starts engines with the capabilities; null: rtudpd starts the engine itself.</param>
/// <param name="Description">What is in effect, for the log.</param>
/// <param name="Separated">Whether rtudpd holds none of the engine's capabilities.</param>
/// <param name="Mode">launcher, file_capabilities (rtudpd holds none; the engine's come from its file, if set), root, or not_ambient.</param>
internal sealed record PrivilegeSeparation(EngineLauncher? Launcher, string Description, bool Separated, string Mode)
{
    /// <summary>May not return: when rtudpd holds the capabilities as ambient ones, it re-executes itself.</summary>
    public static PrivilegeSeparation Establish(EngineSupervisorOptions engine)
    {
        if (EngineLauncher.AdoptFromEnvironment() is { } launcher)
        {
            CapabilitySets own = CapabilitySets.OfCurrentThread();
            if (own.HoldsAny(CapabilitySets.EngineWithXdp))
            {
                launcher.Dispose();
                throw new InvalidOperationException($"re-executed to shed them, rtudpd still holds {CapabilitySets.Describe((own.Permitted | own.Ambient) & CapabilitySets.EngineWithXdp)} ({own})");
            }
            // The xdp set (CAP_NET_RAW CAP_BPF CAP_PERFMON CAP_DAC_OVERRIDE) only where the unit's xdp drop-in granted it.
            return new PrivilegeSeparation(launcher,
                $"rtudpd holds no capability (CapPrm {own.Permitted:x}, CapAmb {own.Ambient:x}); engine launcher {launcher.Pid} holds {CapabilitySets.Describe(launcher.Capabilities & CapabilitySets.EngineWithXdp)} and starts the engine with them"
                + ((launcher.Capabilities & CapabilitySets.Xdp) == CapabilitySets.Xdp ? " (xdp channels allowed)" : " (no xdp channels: the unit's xdp drop-in is not installed)"),
                true, "launcher");
        }

        CapabilitySets sets = CapabilitySets.OfCurrentThread();
        if (Environment.IsPrivilegedProcess)
        {
            return new PrivilegeSeparation(null, "rtudpd runs as root, so privilege separation does not apply: run it as a service user (the packaged unit runs it as rtudp)", false, "root");
        }
        if ((sets.Ambient & CapabilitySets.Engine) == 0)
        {
            return sets.HoldsAny(CapabilitySets.Engine)
                ? new PrivilegeSeparation(null, $"rtudpd holds {CapabilitySets.Describe((sets.Permitted | sets.Inheritable) & CapabilitySets.Engine)}, not as ambient capabilities, so its engine does not get them", false, "not_ambient")
                : new PrivilegeSeparation(null, "rtudpd holds none of the engine's capabilities; the engine has what file capabilities on rtudp-engine give it, if any", true, "file_capabilities");
        }

        string handover = EngineLauncher.SpawnForReexec(
            string.IsNullOrEmpty(engine.Path) ? null : engine.Path,
            new Dictionary<string, string> { [EngineProcess.Gen0SizeVariable] = EngineProcess.DefaultGen0Size });
        CapabilitySets.ClearInheritableAndAmbientOfCurrentThread();
        SelfExec.Reexec(new Dictionary<string, string> { [EngineLauncher.EnvironmentVariable] = handover });
        throw new UnreachableException("execve returned without failing");
    }
}
