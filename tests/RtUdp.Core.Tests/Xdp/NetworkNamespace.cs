using System.Runtime.ExceptionServices;
using RtUdp.Core.Native;
using Tmds.Linux;

namespace RtUdp.Core.Tests.Xdp;

/// <summary>
/// Runs code inside a named network namespace (/var/run/netns/NAME, as <c>ip netns add</c> makes) without touching the
/// test process: the network namespace is per thread, so a dedicated thread joins it with setns(CLONE_NEWNET), runs
/// the code and ends. Sockets it creates stay in that namespace and can be used from any thread afterwards.
/// </summary>
internal static class NetworkNamespace
{
    public static T Run<T>(string name, Func<T> body)
    {
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(name);
                result = body();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            Name = "netns " + name,
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    private static unsafe void Enter(string name)
    {
        byte[] path = System.Text.Encoding.UTF8.GetBytes($"/var/run/netns/{name}\0");
        fixed (byte* p = path)
        {
            int fd = Errno.Check(LibC.open(p, LibC.O_RDONLY | LibC.O_CLOEXEC, 0), "open(/var/run/netns/" + name + ")");
            try
            {
                Errno.Check(LibC.setns(fd, LibC.CLONE_NEWNET), "setns(CLONE_NEWNET)");
            }
            finally
            {
                _ = LibC.close(fd);
            }
        }
    }
}
