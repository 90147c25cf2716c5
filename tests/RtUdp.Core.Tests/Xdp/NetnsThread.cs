using System.Runtime.ExceptionServices;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Runs code in a named network namespace (/var/run/netns/NAME) on a dedicated thread that setns()es into it: the
/// network namespace is per thread, so the rest of the test process stays where it is. Sockets made there keep their
/// namespace and can be used from any thread afterwards.
/// </summary>
internal static class NetnsThread
{
    public static T Run<T>(string ns, Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/var/run/netns/{ns}"))
                {
                    Errno.Check(setns((int)handle.DangerousGetHandle(), CLONE_NEWNET), $"setns({ns})");
                }
                result = work();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + ns,
        };
        thread.Start();
        thread.Join();
        error?.Throw();
        return result;
    }

    public static void Run(string ns, Action work) => Run(ns, () =>
    {
        work();
        return 0;
    });
}
