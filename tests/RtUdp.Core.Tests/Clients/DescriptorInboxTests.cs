using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Engine.Clients;
using RtUdp.Core.Native;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RtUdp.Core.Tests.Clients;

/// <summary>engine.sock: descriptors with their tokens, as rtudpd sends them and the conductor claims them.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed unsafe class DescriptorInboxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("rtudp-inbox-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Descriptors_are_claimed_by_their_tokens_in_any_order_and_the_socket_is_private()
    {
        string path = Path.Combine(_directory, "engine.sock");
        using DescriptorInbox inbox = DescriptorInbox.Listen(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Null(inbox.Take(1));

        (SafeFileHandle memfdA, ClientRegion regionA) = ClientRegion.CreateMemfd("a", ClientRegionTests.Spec() with { ClientId = 1 });
        (SafeFileHandle memfdB, ClientRegion regionB) = ClientRegion.CreateMemfd("b", ClientRegionTests.Spec() with { ClientId = 2 });
        using (memfdA)
        using (memfdB)
        using (regionA)
        using (regionB)
        {
            int client = Connect(path);
            try
            {
                Send(client, 77, (int)memfdA.DangerousGetHandle());
                Send(client, 78, (int)memfdB.DangerousGetHandle());
            }
            finally
            {
                _ = close(client);
            }

            using SafeFileHandle? b = inbox.Take(78);
            using SafeFileHandle? a = inbox.Take(77);
            Assert.NotNull(a);
            Assert.NotNull(b);
            Assert.Null(inbox.Take(77)); // claimed once
            using ClientRegion mappedA = ClientRegion.Map((int)a.DangerousGetHandle());
            using ClientRegion mappedB = ClientRegion.Map((int)b.DangerousGetHandle());
            Assert.Equal(1u, mappedA.ClientId);
            Assert.Equal(2u, mappedB.ClientId);
            // The same memory, not a copy.
            regionA.SetState(ClientState.Reattaching, ShmStatus.Ok, "seen through both");
            Assert.Equal(ClientState.Reattaching, mappedA.State);
        }
    }

    [Fact]
    public void A_message_without_a_descriptor_is_ignored()
    {
        string path = Path.Combine(_directory, "engine.sock");
        using DescriptorInbox inbox = DescriptorInbox.Listen(path);
        int client = Connect(path);
        try
        {
            Send(client, 5, -1);
            Assert.Null(inbox.Take(5));
        }
        finally
        {
            _ = close(client);
        }
    }

    private static int Connect(string path)
    {
        int fd = Errno.Check(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket");
        sockaddr_un address = default;
        address.sun_family = AF_UNIX;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path);
        bytes.CopyTo(new Span<byte>(address.sun_path, bytes.Length));
        Errno.Check(connect(fd, (sockaddr*)&address, (uint)sizeof(sockaddr_un)), "connect");
        return fd;
    }

    private static void Send(int socket, ulong token, int fd)
    {
        Span<byte> message = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(message, token);
        Assert.Equal(8, DescriptorPassing.Send(socket, message, fd, out int errno));
        Assert.Equal(0, errno);
    }
}
