using System.Runtime.ExceptionServices;
using RtUdp.Core.Native;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Integration;

/// <summary>
/// Runs code in a named network namespace (/run/netns/NAME, as <c>ip netns add</c> makes it) on a dedicated thread
/// that joined it with setns(CLONE_NEWNET): the network namespace is per thread, so the rest of the test process
/// stays where it is (the mount namespace too, so the bpffs is this process's). Sockets and interface indexes
/// obtained there keep their namespace and can be used from any thread afterwards. The code's exception is
/// rethrown on the caller's thread; code that has not finished after a minute fails the test.
/// </summary>
internal static class NetnsThread
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public static T Run<T>(string ns, Func<T> work)
    {
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle($"/run/netns/{ns}"))
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
        Assert.True(thread.Join(Limit), $"code in network namespace {ns} did not finish within {Limit.TotalSeconds} s");
        error?.Throw();
        return result;
    }

    public static void Run(string ns, Action work) => Run(ns, () =>
    {
        work();
        return 0;
    });
}
