namespace RtUdp.Core.Launching;

/// <summary>The engine launcher exited: no engine can be started with the capabilities the daemon gave up.</summary>
public sealed class LauncherGoneException(string message) : InvalidOperationException(message);
