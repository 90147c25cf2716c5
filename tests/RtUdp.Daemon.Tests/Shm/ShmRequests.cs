using RtUdp.Core.Contract.Clients;
using RtUdp.Core.Net;

namespace RtUdp.Daemon.Tests.Shm;

/// <summary>Raw broker requests, byte by byte as a client of any language sends them, and their answers.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static class ShmRequests
{
    /// <summary>Sends <paramref name="request"/> on a new connection and returns the decoded response (any descriptor closed).</summary>
    public static ShmResponse Exchange(string socket, ReadOnlySpan<byte> request)
    {
        int fd = UnixSeqPacket.Connect(socket);
        try
        {
            UnixSeqPacket.Send(fd, request, -1, socket);
            Assert.True(UnixSeqPacket.WaitReadable(fd, 30_000, socket), "rtudpd did not answer within 30 s");
            Span<byte> answer = stackalloc byte[ShmResponse.Size + 8];
            int length = UnixSeqPacket.Receive(fd, answer, out int memfd, socket);
            UnixSeqPacket.Close(memfd);
            Assert.Equal(ShmResponse.Size, length);
            Assert.True(ShmResponse.TryDecode(answer[..length], out ShmResponse response));
            Assert.Equal(ShmAbi.ResponseMagic, response.Magic);
            return response;
        }
        finally
        {
            UnixSeqPacket.Close(fd);
        }
    }

    public static byte[] Attach(string channel, uint magic = ShmAbi.RequestMagic, uint version = ShmAbi.Version, uint op = ShmAbi.OpAttach)
    {
        ShmRequest request = ShmRequest.Attach(channel, 0, 0, 0);
        request.Magic = magic;
        request.AbiVersion = version;
        request.Op = op;
        byte[] bytes = new byte[ShmRequest.Size];
        request.Encode(bytes);
        return bytes;
    }
}
