// Debian packages, systemd and file modes: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
