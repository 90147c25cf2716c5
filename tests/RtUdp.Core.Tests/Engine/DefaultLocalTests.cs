using System.Net;
using RtUdp.Core.Contract.Channels;

namespace RtUdp.Core.Tests.Engine;

/// <summary>The local endpoint a channel binds when none is given follows the remote's family and reach.</summary>
public sealed class DefaultLocalTests
{
    [Theory]
    [InlineData(null, "127.0.0.1")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("127.0.64.5", "127.0.0.1")]
    [InlineData("::1", "::1")]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1")]
    [InlineData("192.0.2.7", "0.0.0.0")]
    [InlineData("2001:db8::7", "::")]
    public void Follows_the_remote(string? remote, string local)
    {
        IPEndPoint chosen = ChannelConfig.DefaultLocalFor(remote is null ? null : new IPEndPoint(IPAddress.Parse(remote), 9));
        Assert.Equal(IPAddress.Parse(local), chosen.Address);
        Assert.Equal(0, chosen.Port);
    }
}
